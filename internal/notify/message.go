package notify

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Events a Message reports.
const (
	EventFindings = "findings.new" // an assessment found new findings
	EventSilent   = "agent.silent" // an agent stopped reporting
	EventTest     = "test"         // an admin's test message
)

// Message is one notification. Title is one line; Text is plain text of
// a few lines. Data is what the generic webhook carries besides them (the
// findings, the event).
type Message struct {
	Event    string    `json:"event"`
	Severity string    `json:"severity,omitempty"`
	Title    string    `json:"title"`
	Text     string    `json:"text"`
	Time     time.Time `json:"time"`
	Data     any       `json:"data,omitempty"`
}

// maxText bounds the text a chat message carries (WeCom's markdown
// limit is 4096 bytes; the others allow more).
const maxText = 3800

// oneLine makes s a single line without control characters (titles go
// into email headers and chat headings).
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return cut(strings.TrimSpace(s), 200)
}

// cut shortens s to at most n bytes on a character boundary, marking the
// cut with "…".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// plain is the message as plain text: the title, a blank line, the text.
func (m Message) plain() string {
	return cut(oneLine(m.Title)+"\n\n"+m.Text, maxText)
}
