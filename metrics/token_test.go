package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// With a token set, /metrics answers only requests that carry it;
// /healthz stays open for container health checks.
func TestMetricsTokenGuardsMetricsOnly(t *testing.T) {
	// SetToken is process-wide: no t.Parallel, and no other test here
	// sets it.
	srv := httptest.NewServer(serveMux())
	t.Cleanup(srv.Close)
	const token = "s3cret-token"
	tests := []struct {
		desc          string
		token         string
		path          string
		authorization string
		want          int
	}{
		{desc: "no token set: metrics open", path: "/metrics", want: 200},
		{desc: "token set, no header", token: token, path: "/metrics", want: 401},
		{desc: "token set, wrong token", token: token, path: "/metrics", authorization: "Bearer not-" + token, want: 401},
		{desc: "token set, a prefix of it", token: token, path: "/metrics", authorization: "Bearer s3cret", want: 401},
		{desc: "token set, basic scheme", token: token, path: "/metrics", authorization: "Basic " + token, want: 401},
		{desc: "token set, empty bearer", token: token, path: "/metrics", authorization: "Bearer ", want: 401},
		{desc: "token set, right token", token: token, path: "/metrics", authorization: "Bearer " + token, want: 200},
		{desc: "token set, scheme in lower case", token: token, path: "/metrics", authorization: "bearer " + token, want: 200},
		{desc: "token set, healthz without header", token: token, path: "/healthz", want: 200},
		{desc: "token cleared: metrics open again", path: "/metrics", want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			SetToken(tt.token)
			t.Cleanup(func() { SetToken("") })
			req, err := http.NewRequest("GET", srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("GET %s = %d, want %d: %s", tt.path, resp.StatusCode, tt.want, body)
			}
			switch {
			case tt.want == 401 && resp.Header.Get("WWW-Authenticate") == "":
				t.Error("401 without WWW-Authenticate")
			case tt.want == 401 && strings.Contains(string(body), "# TYPE"):
				t.Errorf("401 with metrics in the body: %s", body)
			case tt.want == 200 && tt.path == "/metrics" && !strings.Contains(string(body), "schetask_alerts_total"):
				t.Errorf("/metrics without schetask's metrics: %.200s", body)
			case tt.path == "/healthz" && !strings.HasPrefix(string(body), "ok\n"):
				t.Errorf("/healthz = %q", body)
			}
		})
	}
}
