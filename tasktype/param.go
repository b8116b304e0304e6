package tasktype

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Param is a parameter a task declares: a run started by a person (the
// console's run now, the API, `schetask run --param`) may set it, and the
// process gets it as SCHETASK_PARAM_<NAME> (the name in upper case).
// Scheduled fires get the defaults.
type Param struct {
	// Name is letters, digits and '_', starting with a letter.
	Name string `json:"name" yaml:"name"`
	// Default is the value when a run does not set one.
	Default string `json:"default,omitempty" yaml:"default,omitempty"`
	// Required refuses a run started by a person that does not set it.
	Required bool `json:"required,omitempty" yaml:"required,omitempty"`
	// Pattern, when set, is a regular expression (RE2) every value must
	// match in whole.
	Pattern string `json:"pattern,omitempty" yaml:"pattern,omitempty"`
}

// The bounds of parameters.
const (
	MaxParams          = 32
	MaxParamValueChars = 4096
)

var paramNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// ErrInvalidParams is wrapped by every error about a run's parameter
// values (not about a task's declarations).
var ErrInvalidParams = errors.New("invalid parameters")

// EnvName is the environment variable that carries the parameter.
func (p Param) EnvName() string { return "SCHETASK_PARAM_" + strings.ToUpper(p.Name) }

// ValidateParams checks a task's declared parameters: names, no two
// with the same variable, patterns that compile, defaults that match.
func ValidateParams(params []Param) error {
	if len(params) > MaxParams {
		return fmt.Errorf("%d parameters: at most %d", len(params), MaxParams)
	}
	seen := map[string]bool{}
	for _, p := range params {
		if !paramNameRE.MatchString(p.Name) {
			return fmt.Errorf("parameter name %q: use 1-64 letters, digits or '_', starting with a letter", p.Name)
		}
		env := p.EnvName()
		if seen[env] {
			return fmt.Errorf("parameter %q is declared twice (names are compared in upper case)", p.Name)
		}
		seen[env] = true
		re, err := p.compile()
		if err != nil {
			return err
		}
		if p.Default != "" {
			if err := checkValue(p, re, p.Default); err != nil {
				return fmt.Errorf("default of parameter %q: %w", p.Name, err)
			}
		}
	}
	return nil
}

func (p Param) compile() (*regexp.Regexp, error) {
	if p.Pattern == "" {
		return nil, nil
	}
	if _, err := regexp.Compile(p.Pattern); err != nil {
		return nil, fmt.Errorf("pattern of parameter %q: %w", p.Name, err)
	}
	re, err := regexp.Compile(`^(?:` + p.Pattern + `)$`)
	if err != nil { // a pattern that ends the group early, such as "a)|(b"
		return nil, fmt.Errorf("pattern of parameter %q: %q is not a whole regular expression", p.Name, p.Pattern)
	}
	return re, nil
}

func checkValue(p Param, re *regexp.Regexp, v string) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return errors.New("the value is not text (invalid UTF-8 or a NUL byte)")
	}
	if n := utf8.RuneCountInString(v); n > MaxParamValueChars {
		return fmt.Errorf("the value is %d characters long: at most %d", n, MaxParamValueChars)
	}
	if re != nil && !re.MatchString(v) {
		return fmt.Errorf("%q does not match the pattern %s", v, p.Pattern)
	}
	return nil
}

// ResolveParams checks the values given for a run against the declared
// parameters and returns every declared parameter's value, the defaults
// filled in. An undeclared name, a missing required one (when byPerson:
// scheduled fires take the defaults) or a value that breaks its pattern
// is an error wrapping ErrInvalidParams that names it. Values are kept
// verbatim: they reach the process as environment variables, never
// through a shell.
func ResolveParams(declared []Param, given map[string]string, byPerson bool) (map[string]string, error) {
	// Names are compared in upper case, as their variables are: --param
	// day=… sets a parameter declared DAY.
	byName := make(map[string]Param, len(declared))
	for _, p := range declared {
		byName[strings.ToUpper(p.Name)] = p
	}
	values := make(map[string]string, len(given))
	for _, name := range slices.Sorted(maps.Keys(given)) {
		p, ok := byName[strings.ToUpper(name)]
		if ok {
			if _, twice := values[p.Name]; twice {
				return nil, fmt.Errorf("%w: parameter %q is given twice (names are compared in upper case)", ErrInvalidParams, p.Name)
			}
			values[p.Name] = given[name]
			continue
		}
		if len(declared) == 0 {
			return nil, fmt.Errorf("%w: the task declares no parameters, and %q was given", ErrInvalidParams, name)
		}
		names := make([]string, len(declared))
		for i, p := range declared {
			names[i] = p.Name
		}
		return nil, fmt.Errorf("%w: the task declares no parameter %q (it declares %s)", ErrInvalidParams, name, strings.Join(names, ", "))
	}
	out := make(map[string]string, len(declared))
	for _, p := range declared {
		v, ok := values[p.Name]
		if !ok {
			if p.Required && byPerson {
				return nil, fmt.Errorf("%w: parameter %q is required", ErrInvalidParams, p.Name)
			}
			v = p.Default
		}
		re, err := p.compile()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidParams, err)
		}
		if ok || v != "" {
			if err := checkValue(p, re, v); err != nil {
				return nil, fmt.Errorf("%w: parameter %q: %w", ErrInvalidParams, p.Name, err)
			}
		}
		out[p.Name] = v
	}
	return out, nil
}

// ParamEnv returns the environment entries for resolved parameter values.
func ParamEnv(declared []Param, values map[string]string) []string {
	env := make([]string, 0, len(values))
	for _, p := range declared {
		if v, ok := values[p.Name]; ok {
			env = append(env, p.EnvName()+"="+v)
		}
	}
	return env
}
