package taskdef

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/schetask/schetask/tasktype"
)

// ParamsSyntax says, in the console's words, how ParseParams reads its text.
const ParamsSyntax = `one parameter a line: NAME [required] [default=VALUE] [pattern=REGEXP]; ` +
	`a value with spaces or quotes is written in double quotes with Go escapes ("a b", "say \"hi\"")`

// ParseParams reads declared parameters as the console's params field
// holds them, one a line:
//
//	NAME [required] [default=VALUE] [pattern=REGEXP]
//
// for example
//
//	DAY required pattern=[0-9]{4}-[0-9]{2}-[0-9]{2}
//	MODE default=full pattern=full|quick
//	GREETING default="hello world"
//
// A value is taken verbatim up to the next space or tab (a backslash is
// just a backslash), or, when it starts with a double quote, is a Go
// quoted string ("a b", "say \"hi\""). Blank lines and lines starting
// with # are skipped. The words may come in any order after the name.
// ParseParams checks the syntax only; tasktype.ValidateParams checks
// the names and patterns.
func ParseParams(text string) ([]tasktype.Param, error) {
	var params []tasktype.Param
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p, err := parseParamLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		params = append(params, p)
	}
	return params, nil
}

func parseParamLine(line string) (tasktype.Param, error) {
	var p tasktype.Param
	seen := map[string]bool{}
	rest := line
	for first := true; rest != ""; first = false {
		end := strings.IndexFunc(rest, func(r rune) bool { return unicode.IsSpace(r) || r == '=' })
		if end < 0 {
			end = len(rest)
		}
		word := rest[:end]
		rest = rest[end:]
		if first {
			if word == "" || strings.HasPrefix(rest, "=") {
				return p, fmt.Errorf("%q: start with the parameter's name (%s)", line, ParamsSyntax)
			}
			p.Name = word
			rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
			continue
		}
		if seen[word] {
			return p, fmt.Errorf("parameter %q: %s given twice", p.Name, word)
		}
		seen[word] = true
		if word == "required" && !strings.HasPrefix(rest, "=") {
			p.Required = true
			rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
			continue
		}
		if (word != "default" && word != "pattern") || !strings.HasPrefix(rest, "=") {
			return p, fmt.Errorf("parameter %q: unknown word %q (%s)", p.Name, word+strings.SplitN(rest, " ", 2)[0], ParamsSyntax)
		}
		value, after, err := paramValue(rest[1:])
		if err != nil {
			return p, fmt.Errorf("parameter %q: %s: %w", p.Name, word, err)
		}
		if word == "default" {
			p.Default = value
		} else {
			p.Pattern = value
		}
		if after != "" && !unicode.IsSpace(rune(after[0])) {
			return p, fmt.Errorf("parameter %q: %s: put a space after the closing quote", p.Name, word)
		}
		rest = strings.TrimLeftFunc(after, unicode.IsSpace)
	}
	return p, nil
}

// paramValue reads one value from the start of s and returns it and the rest.
func paramValue(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			end = len(s)
		}
		return s[:end], s[end:], nil
	}
	quoted, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", fmt.Errorf("unterminated or invalid quoted value %s", s)
	}
	v, err := strconv.Unquote(quoted)
	if err != nil {
		return "", "", fmt.Errorf("invalid quoted value %s: %w", quoted, err)
	}
	return v, s[len(quoted):], nil
}

// FormatParams writes declared parameters as ParseParams reads them, one
// a line: ParseParams(FormatParams(ps)) gives ps back.
func FormatParams(params []tasktype.Param) string {
	lines := make([]string, len(params))
	for i, p := range params {
		line := p.Name
		if p.Required {
			line += " required"
		}
		if p.Default != "" {
			line += " default=" + paramText(p.Default)
		}
		if p.Pattern != "" {
			line += " pattern=" + paramText(p.Pattern)
		}
		lines[i] = line
	}
	return strings.Join(lines, "\n")
}

// paramText writes a value bare when ParseParams reads it back verbatim,
// else quoted.
func paramText(v string) string {
	bare := utf8.ValidString(v) && !strings.HasPrefix(v, `"`) && !strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r)
	})
	if bare {
		return v
	}
	return strconv.Quote(v)
}
