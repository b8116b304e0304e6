package webui_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/schetask/schetask/internal/testenv"
	"github.com/schetask/schetask/webui"
)

// TestTaskPageShowsWebhookURLsWholeToAdminsOnly: the path and query of a
// task's webhook URL often hold the receiver's token, so viewers and
// operators see its host only, on the page and in its changes; admins see
// it whole, and the task's signing secret.
func TestTaskPageShowsWebhookURLsWholeToAdminsOnly(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ctx := context.Background()
	const hook = "https://hooks.example.com/services/T0/B0/tok3n?key=s3cr3t"
	admin := loggedIn(t, env, "ada", webui.RoleAdmin)
	form := taskFormValues(admin, "/create", "name", "gold", "rule", "*/5 * * * *", "webhook_url", "https://hooks.example.com/old-tok3n")
	if code, _, _ := admin.do("POST", "/create", form); code != 303 {
		t.Fatalf("create: %d", code)
	}
	// An edit, so that the page's changes show the URL too.
	_, edit, _ := admin.do("GET", "/tasks/gold/edit", nil)
	version := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(edit)
	if version == nil {
		t.Fatal("the edit form has no version")
	}
	form = taskFormValues(admin, "/tasks/gold/edit", "rule", "*/5 * * * *", "webhook_url", hook, "version", version[1])
	if code, _, _ := admin.do("POST", "/tasks/gold/edit", form); code != 303 {
		t.Fatalf("edit: %d", code)
	}
	if task, err := env.Store.GetTask(ctx, "gold"); err != nil || task.WebhookURL != hook {
		t.Fatalf("edited task's webhook %q, %v", task.WebhookURL, err)
	}
	secret, err := env.Store.TaskWebhook(ctx, "gold")
	if err != nil {
		t.Fatal(err)
	}

	_, page, _ := admin.do("GET", "/tasks/gold", nil)
	for _, want := range []string{htmlEscape(hook), "old-tok3n", `id="webhook-secret">` + secret.Secret.Reveal() + "<"} {
		if !strings.Contains(page, want) {
			t.Errorf("the admin's task page lacks %q", want)
		}
	}
	for _, role := range []webui.Role{webui.RoleViewer, webui.RoleOperator} {
		b := loggedIn(t, env, "user-"+string(role), role)
		code, page, _ := b.do("GET", "/tasks/gold", nil)
		if code != 200 || !strings.Contains(page, `id="webhook">https://hooks.example.com/…<`) {
			t.Errorf("%s: task page (%d) does not show the webhook's host", role, code)
		}
		for _, leak := range []string{"tok3n", "s3cr3t", "/services/", secret.Secret.Reveal(), "webhook-secret"} {
			if strings.Contains(page, leak) {
				t.Errorf("%s: the task page shows %q", role, leak)
			}
		}
	}
}
