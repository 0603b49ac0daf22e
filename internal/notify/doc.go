// Package notify sends the server's notifications — new findings at or
// above a channel's minimum severity, agents gone silent, test messages —
// to notification channels: a generic JSON webhook, Slack incoming
// webhooks, DingTalk and Feishu/Lark custom robots (with their optional
// HMAC-SHA256 signing), WeCom group robots, and email over SMTP.
//
// Config reads and checks a channel's settings; Sender formats and sends
// one Message to one channel with bounded timeouts and retries; Dispatcher
// turns assessments and events into messages for every enabled channel.
// Errors never carry a channel's secrets (webhook URLs with their tokens,
// signing secrets, SMTP passwords), so callers may log them.
//
// Imported by internal/server (wiring) and internal/api (config checks
// and test messages); it imports internal/store for channels, findings
// and events only.
package notify
