package rule

import "testing"

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct{ rule, want string }{
		{"* * * * * *", "every second"},
		{"*/10 * * * * *", "every 10 seconds"},
		{"*/7 * * * * *", "second every 7th from 0 to 56, every minute, every hour"},
		{"* * * * *", "every minute"},
		{"30 * * * * *", "every minute at second 30"},
		{"*/5 * * * *", "every 5 minutes"},
		{"15 * * * *", "every hour at minute 15"},
		{"0 */2 * * *", "every 2 hours at minute 0"},
		{"30 9 * * 1-5", "at 09:30 on Monday to Friday"},
		{"30 9 * * MON-FRI", "at 09:30 on Monday to Friday"},
		{"0 0 1 * 1", "at 00:00 on day 1 of the month or on Monday"},
		{"0 0 0 1,15 * *", "at 00:00 on day 1 and 15 of the month"},
		{"0 8,12,18 * * 0,7", "at 08:00, 12:00 and 18:00 on Sunday"},
		{"5 4 3 2 1 *", "at 03:04:05 on day 2 of the month in January"},
		{"0 12 * JAN,JUL *", "at 12:00 in January and July"},
		{"0 0-23/3 * * *", "every 3 hours at minute 0"},
		{"0 9-17 * * *", "minute 0, hour 9 to 17"},
		{"1-31/2 * * * *", "minute every 2nd from 1 to 31, every hour"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			r, err := Parse(tt.rule)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Describe(); got != tt.want {
				t.Fatalf("Describe(%q) = %q, want %q", tt.rule, got, tt.want)
			}
		})
	}
}
