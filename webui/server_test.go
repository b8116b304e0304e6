package webui_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/tasktype"
	"github.com/schetask/schetask/webui"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestOverviewEscapesAndHealthAnswers(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	if err := env.Store.UpsertTask(ctx, tasktype.Task{Name: "gold", Rule: "*/2 * * * * *", TimeZone: "UTC",
		TimeoutAction: tasktype.TimeoutKill, Status: tasktype.StatusOn, Overlap: tasktype.OverlapSkip,
		Description: "<script>alert(1)</script>"}); err != nil {
		t.Fatal(err)
	}
	srv, err := webui.New(env.Store, slog.New(slog.DiscardHandler), "http://localhost:8233", "default")
	if err != nil {
		t.Fatal(err)
	}
	// A rule with markup must come out as text.
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE t_task_list SET rule = '<b>x</b>' WHERE task_name = 'gold'`); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.App().Test(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "gold") {
		t.Fatalf("overview: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "<b>x</b>") || !strings.Contains(string(body), "&lt;b&gt;x&lt;/b&gt;") {
		t.Error("the rule's markup was not escaped")
	}
	if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("security headers missing: %v", resp.Header)
	}
	resp, err = srv.App().Test(httptest.NewRequest("GET", "/healthz", nil))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
}
