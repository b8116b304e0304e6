package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"github.com/schetask/schetask/alert"
	"github.com/schetask/schetask/config"
)

// Slack posts alerts to Slack.
type Slack struct {
	cfg config.SlackConfig
	hc  *http.Client
	api *slack.Client
}

// NewSlack checks the configuration and makes the channel.
func NewSlack(cfg config.SlackConfig, hc *http.Client) (*Slack, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	s := &Slack{cfg: cfg, hc: hc}
	switch {
	case cfg.Token.IsSet():
		opts := []slack.Option{slack.OptionHTTPClient(hc)}
		if cfg.APIURL != "" {
			base := cfg.APIURL
			if !strings.HasSuffix(base, "/") {
				base += "/"
			}
			opts = append(opts, slack.OptionAPIURL(base))
		}
		s.api = slack.New(cfg.Token.Reveal(), opts...)
	case cfg.WebhookURL.IsSet():
		if err := checkHTTPURL(cfg.WebhookURL.Reveal()); err != nil {
			return nil, fmt.Errorf("slack webhook url: %w", err)
		}
	default:
		return nil, errors.New("set a bot token or an incoming webhook URL")
	}
	return s, nil
}

// Name is "slack".
func (s *Slack) Name() string { return "slack" }

// Send posts the alert: with the bot token to the task's slack_channel or
// the configured channel, else to the incoming webhook.
func (s *Slack) Send(ctx context.Context, a alert.Alert) error {
	blocks := Blocks(a)
	if s.api != nil {
		channel := a.Route.SlackChannel
		if channel == "" {
			channel = s.cfg.Channel
		}
		if channel == "" {
			return Permanent(errors.New("slack: no channel: set SCHETASK_SLACK_CHANNEL or the task's slack_channel"))
		}
		_, _, err := s.api.PostMessageContext(ctx, channel, slack.MsgOptionText(a.Subject(), false),
			slack.MsgOptionBlocks(blocks...))
		return slackError(err)
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, s.cfg.WebhookURL.Reveal(), s.hc,
		&slack.WebhookMessage{Text: a.Subject(), Blocks: &slack.Blocks{BlockSet: blocks}})
	return slackError(err)
}

// slackError sorts Slack's errors into retryable and permanent ones, and
// keeps URLs (which may hold the webhook's secret) out of the message.
func slackError(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("slack: %w", ue.Err)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Errorf("slack: %w", err)
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Retryable() || sc.Code == http.StatusRequestTimeout {
			return fmt.Errorf("slack: %w", err)
		}
		return Permanent(fmt.Errorf("slack: %w", err))
	}
	var api slack.SlackErrorResponse
	if errors.As(err, &api) {
		switch api.Err {
		case "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout":
			return fmt.Errorf("slack: %s", api.Err)
		}
		return Permanent(fmt.Errorf("slack: %s", api.Err))
	}
	return fmt.Errorf("slack: %w", err)
}

// maxSlackText keeps a text object under Slack's 3000-character limit.
const maxSlackText = 2900

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Blocks lays an alert out in Slack's Block Kit: title, text, stderr
// excerpt, mentions and the held-back count, and link buttons.
func Blocks(a alert.Alert) []slack.Block {
	icon := map[string]string{"error": ":red_circle:", "warning": ":warning:", "ok": ":white_check_mark:"}[a.Kind.Severity()]
	header := truncate(fmt.Sprintf("%s %s", a.TaskName, a.Title), 150)
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, header, true, false)),
	}
	var facts []string
	facts = append(facts, fmt.Sprintf("%s *%s* · `%s`", icon, a.Kind, slackEscaper.Replace(a.TaskName)))
	if a.Run != nil {
		facts = append(facts, fmt.Sprintf("run #%d, version %s", a.Run.ID, slackEscaper.Replace(a.Run.Version)))
	}
	if a.ExitCode != nil {
		facts = append(facts, fmt.Sprintf("exit code %d", *a.ExitCode))
	}
	text := strings.Join(facts, " · ")
	if a.Text != "" {
		text += "\n" + slackEscaper.Replace(a.Text)
	}
	blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(text, maxSlackText), false, false), nil, nil))
	if len(a.Excerpt) > 0 {
		excerpt := truncate(strings.ReplaceAll(strings.Join(a.Excerpt, "\n"), "```", "'''"), maxSlackText-8)
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType,
			"```"+slackEscaper.Replace(excerpt)+"```", false, false), nil, nil))
	}
	var context []string
	if members := a.SlackMembers(); len(members) > 0 {
		var mentions []string
		for _, m := range members {
			mentions = append(mentions, "<@"+slackEscaper.Replace(m)+">")
		}
		context = append(context, "owners: "+strings.Join(mentions, " "))
	}
	if note := a.SuppressedNote(); note != "" {
		context = append(context, note)
	}
	if len(context) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
			truncate(strings.Join(context, " · "), maxSlackText), false, false)))
	}
	if len(a.Links) > 0 {
		var buttons []slack.BlockElement
		for i, l := range a.Links {
			b := slack.NewButtonBlockElement(fmt.Sprintf("link-%d", i), "", slack.NewTextBlockObject(slack.PlainTextType, l.Label, false, false))
			b.URL = l.URL
			buttons = append(buttons, b)
		}
		blocks = append(blocks, slack.NewActionBlock("links", buttons...))
	}
	return blocks
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
