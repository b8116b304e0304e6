package rule

import (
	"fmt"
	"strconv"
	"strings"
)

var (
	monthNames = [...]string{1: "January", 2: "February", 3: "March", 4: "April", 5: "May", 6: "June",
		7: "July", 8: "August", 9: "September", 10: "October", 11: "November", 12: "December"}
	weekdayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// Describe says in English when the rule fires, for people reading the
// console: "every 10 seconds", "at 09:30 on Monday to Friday".
func (r Rule) Describe() string {
	when := r.describeTime()
	days := r.describeDays()
	if days == "" {
		return when
	}
	return when + " " + days
}

// full reports whether field k allows every value.
func (r Rule) full(k fieldKind) bool {
	hi := fieldDefs[k].max
	if k == dow {
		hi = 6
	}
	return len(r.sets[k]) == hi-fieldDefs[k].min+1
}

// every returns n when field k fires every n units around the clock: every
// n-th value from its minimum, with n dividing the field's span; else 0.
func (r Rule) every(k fieldKind) int {
	set := r.sets[k]
	if len(set) < 2 || set[0] != fieldDefs[k].min {
		return 0
	}
	n := set[1] - set[0]
	for i := 1; i < len(set); i++ {
		if set[i]-set[i-1] != n {
			return 0
		}
	}
	if set[len(set)-1]+n != fieldDefs[k].max+1 { // the gap across the wrap must be n too
		return 0
	}
	return n
}

func (r Rule) single(k fieldKind) (int, bool) {
	if len(r.sets[k]) == 1 {
		return r.sets[k][0], true
	}
	return 0, false
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func (r Rule) describeTime() string {
	sec, oneSec := r.single(second)
	min, oneMin := r.single(minute)
	hr, oneHour := r.single(hour)
	atSecond := func() string {
		if sec == 0 {
			return ""
		}
		return fmt.Sprintf(" at second %d", sec)
	}
	switch {
	case r.full(second) && r.full(minute) && r.full(hour):
		return "every second"
	case r.every(second) > 0 && r.full(minute) && r.full(hour):
		return "every " + plural(r.every(second), "second")
	case oneSec && r.full(minute) && r.full(hour):
		return "every minute" + atSecond()
	case oneSec && r.every(minute) > 0 && r.full(hour):
		return "every " + plural(r.every(minute), "minute") + atSecond()
	case oneSec && oneMin && r.full(hour):
		return fmt.Sprintf("every hour at minute %d", min) + atSecond()
	case oneSec && oneMin && r.every(hour) > 0:
		return fmt.Sprintf("every %s at minute %d", plural(r.every(hour), "hour"), min) + atSecond()
	case oneSec && oneMin && oneHour:
		return "at " + clock(hr, min, sec)
	case oneSec && oneMin && len(r.sets[hour]) <= 4:
		times := make([]string, len(r.sets[hour]))
		for i, h := range r.sets[hour] {
			times[i] = clock(h, min, sec)
		}
		return "at " + joinAnd(times)
	}
	var parts []string
	for _, k := range []fieldKind{second, minute, hour} {
		if k == second && !r.hasSeconds {
			continue
		}
		if r.full(k) {
			parts = append(parts, "every "+fieldDefs[k].name)
			continue
		}
		if n := r.every(k); n > 0 {
			parts = append(parts, "every "+plural(n, fieldDefs[k].name))
			continue
		}
		parts = append(parts, fieldDefs[k].name+" "+r.list(k))
	}
	return strings.Join(parts, ", ")
}

func clock(h, m, s int) string {
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

func (r Rule) describeDays() string {
	var days []string
	if !r.domStar {
		days = append(days, "on day "+r.list(dom)+" of the month")
	}
	if !r.dowStar {
		days = append(days, "on "+r.list(dow))
	}
	out := strings.Join(days, " or ")
	if !r.full(month) {
		if out != "" {
			out += " "
		}
		out += "in " + r.list(month)
	}
	return out
}

// list spells field k's values compactly: "1, 15", "Monday to Friday",
// "every 2nd from 1 to 29".
func (r Rule) list(k fieldKind) string {
	name := func(v int) string {
		switch k {
		case month:
			return monthNames[v]
		case dow:
			return weekdayNames[v]
		}
		return strconv.Itoa(v)
	}
	var out []string
	for _, rg := range ranges(r.sets[k]) {
		switch {
		case rg.Start == rg.End:
			out = append(out, name(rg.Start))
		case rg.Step == 1:
			out = append(out, name(rg.Start)+" to "+name(rg.End))
		default:
			out = append(out, fmt.Sprintf("every %s from %s to %s", ordinal(rg.Step), name(rg.Start), name(rg.End)))
		}
	}
	return joinAnd(out)
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
