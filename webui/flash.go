package webui

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
)

// flashCookie carries a one-time message from an action to the page it
// redirects to: what happened, or what did not and why.
const flashCookie = "schetask_flash"

// flashMaxAge bounds how long a message waits for its page: long enough
// for the redirect, short enough that it is not shown later out of place.
const flashMaxAge = time.Minute

// flashMaxBytes bounds the cookie's value, well under browsers' 4 KB.
const flashMaxBytes = 2048

// flashKind is how a message looks: its CSS class.
type flashKind string

// The kinds of message.
const (
	flashOK      flashKind = "ok"      // the action did what was asked
	flashWarning flashKind = "warning" // the action did nothing, or not all
	flashError   flashKind = "err"     // the action was refused
)

// flash is a one-time message shown at the top of the next page.
type flash struct {
	Kind flashKind `json:"k"`
	Text string    `json:"t"`
}

// setFlash leaves a message for the next page this browser shows that
// takes it (takeFlash). The cookie is HttpOnly: no script reads or
// forges it from the page, and the page escapes it like any text.
func (s *Server) setFlash(c *fiber.Ctx, kind flashKind, text string) {
	b, err := json.Marshal(flash{Kind: kind, Text: text})
	if err != nil {
		return
	}
	value := base64.RawURLEncoding.EncodeToString(b)
	if len(value) > flashMaxBytes {
		return
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: value, Path: "/", MaxAge: int(flashMaxAge / time.Second),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.opts.SecureCookies})
}

// takeFlash returns the message waiting for this page, if any, and
// clears it so a reload does not show it again.
func (s *Server) takeFlash(c *fiber.Ctx) *flash {
	raw := c.Cookies(flashCookie)
	if raw == "" {
		return nil
	}
	c.Cookie(&fiber.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.opts.SecureCookies})
	if len(raw) > flashMaxBytes {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil
	}
	var f flash
	if err := json.Unmarshal(b, &f); err != nil || f.Text == "" {
		return nil
	}
	switch f.Kind {
	case flashOK, flashWarning, flashError:
	default:
		f.Kind = flashWarning
	}
	return &f
}
