package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A detail set with SetHealthDown turns /healthz to 503 "unavailable"
// until SetHealth replaces it or it is removed; the other details stay
// listed either way. Without the down check in serveHealth, a dev stack
// whose Temporal is restarting would look healthy.
func TestHealthzIsUnavailableWhileADetailIsDown(t *testing.T) {
	// Not parallel: the details are process-wide.
	t.Cleanup(func() {
		for _, k := range []string{"isolation", "temporal", "postgres"} {
			SetHealth(k, "")
		}
	})
	get := func() (int, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		serveMux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
	SetHealth("isolation", "none")
	SetHealth("postgres", "up")

	for _, tt := range []struct {
		desc       string
		set        func()
		wantStatus int
		wantBody   string
	}{
		{desc: "all up", set: func() { SetHealth("temporal", "up") },
			wantStatus: 200, wantBody: "ok\nisolation: none\npostgres: up\ntemporal: up\n"},
		{desc: "temporal down", set: func() { SetHealthDown("temporal", "restarting\nsince 10:00:00") },
			wantStatus: 503, wantBody: "unavailable\nisolation: none\npostgres: up\ntemporal: restarting since 10:00:00\n"},
		{desc: "postgres down too", set: func() { SetHealthDown("postgres", "restarting") },
			wantStatus: 503, wantBody: "unavailable\nisolation: none\npostgres: restarting\ntemporal: restarting since 10:00:00\n"},
		{desc: "temporal back, postgres still down", set: func() { SetHealth("temporal", "up again") },
			wantStatus: 503, wantBody: "unavailable\nisolation: none\npostgres: restarting\ntemporal: up again\n"},
		{desc: "postgres detail removed", set: func() { SetHealth("postgres", "") },
			wantStatus: 200, wantBody: "ok\nisolation: none\ntemporal: up again\n"},
	} {
		tt.set()
		if status, body := get(); status != tt.wantStatus || body != tt.wantBody {
			t.Errorf("%s: /healthz = %d %q, want %d %q", tt.desc, status, body, tt.wantStatus, tt.wantBody)
		}
	}
}
