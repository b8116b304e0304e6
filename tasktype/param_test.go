package tasktype_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/schetask/schetask/tasktype"
)

func TestValidateParams(t *testing.T) {
	for _, tt := range []struct {
		name    string
		params  []tasktype.Param
		wantErr string // "" means valid
	}{
		{"none", nil, ""},
		{"plain", []tasktype.Param{{Name: "DAY", Pattern: `[0-9-]+`, Default: "2026-01-01"}, {Name: "mode"}}, ""},
		{"bad name", []tasktype.Param{{Name: "1DAY"}}, `parameter name "1DAY"`},
		{"dash", []tasktype.Param{{Name: "A-B"}}, `parameter name "A-B"`},
		{"twice in upper case", []tasktype.Param{{Name: "day"}, {Name: "DAY"}}, `"DAY" is declared twice`},
		{"pattern that does not compile", []tasktype.Param{{Name: "D", Pattern: "[0-9"}}, "pattern of parameter \"D\": error parsing regexp: missing closing ]: `[0-9`"},
		{"pattern that closes the group", []tasktype.Param{{Name: "D", Pattern: "a)|(b"}}, `pattern of parameter "D"`},
		{"default breaks the pattern", []tasktype.Param{{Name: "D", Pattern: `[0-9]+`, Default: "x"}}, `default of parameter "D": "x" does not match`},
		{"too many", make([]tasktype.Param, tasktype.MaxParams+1), "at most 32"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tasktype.ValidateParams(tt.params)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestResolveParams(t *testing.T) {
	declared := []tasktype.Param{
		{Name: "DAY", Required: true, Pattern: `[0-9]{4}-[0-9]{2}-[0-9]{2}`},
		{Name: "mode", Default: "full"},
		{Name: "NOTE"},
	}
	const shell = `a b; rm -rf / $(x) "q" 'r' ` + "`y`" + ` \ * ~ | & > $HOME` + "\n\t"
	for _, tt := range []struct {
		name     string
		declared []tasktype.Param
		given    map[string]string
		byPerson bool
		want     map[string]string
		wantErr  string
	}{
		{"defaults filled in", declared, map[string]string{"DAY": "2026-11-25"}, true,
			map[string]string{"DAY": "2026-11-25", "mode": "full", "NOTE": ""}, ""},
		{"verbatim", declared, map[string]string{"DAY": "2026-11-25", "NOTE": shell}, true,
			map[string]string{"DAY": "2026-11-25", "mode": "full", "NOTE": shell}, ""},
		{"names in any case", declared, map[string]string{"day": "2026-11-25", "MODE": "quick"}, true,
			map[string]string{"DAY": "2026-11-25", "mode": "quick", "NOTE": ""}, ""},
		{"given twice", declared, map[string]string{"DAY": "2026-11-25", "day": "2026-11-26"}, true, nil, `"DAY" is given twice`},
		{"undeclared", declared, map[string]string{"DAY": "2026-11-25", "NOPE": "1"}, true, nil,
			`declares no parameter "NOPE" (it declares DAY, mode, NOTE)`},
		{"none declared", nil, map[string]string{"X": "1"}, true, nil, `declares no parameters, and "X" was given`},
		{"required by a person", declared, map[string]string{}, true, nil, `parameter "DAY" is required`},
		{"a scheduled fire takes the defaults", declared, nil, false,
			map[string]string{"DAY": "", "mode": "full", "NOTE": ""}, ""},
		{"pattern in whole", declared, map[string]string{"DAY": "2026-11-25x"}, true, nil, `"2026-11-25x" does not match the pattern`},
		{"not text", declared, map[string]string{"DAY": "2026-11-25", "NOTE": "a\x00b"}, true, nil, "NUL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tasktype.ResolveParams(tt.declared, tt.given, tt.byPerson)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, tasktype.ErrInvalidParams) {
					t.Errorf("error %v, want ErrInvalidParams saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParamEnv(t *testing.T) {
	declared := []tasktype.Param{{Name: "day"}, {Name: "MODE"}}
	got := tasktype.ParamEnv(declared, map[string]string{"day": "a=b", "MODE": ""})
	want := []string{"SCHETASK_PARAM_DAY=a=b", "SCHETASK_PARAM_MODE="}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("env %q, want %q", got, want)
	}
}
