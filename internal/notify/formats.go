package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// request is one HTTP POST of a chat or webhook channel.
type request struct {
	url    string
	body   []byte
	header map[string]string
	// check reads a 2xx answer's body for the service's own error code.
	check func(body []byte) error
}

// webhookRequest is a JSON POST of the message itself. With a secret, the
// header X-Vigil-Signature is "sha256=" and the hex HMAC-SHA256 of the
// body under it, and X-Vigil-Timestamp the Unix time it was sent.
func webhookRequest(c Config, m Message, _ time.Time) (request, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return request{}, err
	}
	r := request{url: c.URL, body: body, header: map[string]string{}}
	if c.Secret != "" {
		r.header["X-Vigil-Signature"] = "sha256=" + hex.EncodeToString(hmacSHA256([]byte(c.Secret), body))
	}
	return r, nil
}

// slackRequest is a Slack incoming-webhook message: {"text": …}.
func slackRequest(c Config, m Message, _ time.Time) (request, error) {
	body, err := json.Marshal(map[string]string{"text": m.plain()})
	return request{url: c.URL, body: body}, err
}

// dingTalkRequest is a DingTalk custom robot markdown message. With a
// secret, the URL gets DingTalk's signature: timestamp (Unix
// milliseconds) and sign = base64(HMAC-SHA256(secret, timestamp + "\n" +
// secret)).
func dingTalkRequest(c Config, m Message, now time.Time) (request, error) {
	title := oneLine(m.Title)
	body, err := json.Marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"title": title, "text": cut("#### "+title+"\n\n"+markdownLines(m.Text), maxText)},
	})
	if err != nil {
		return request{}, err
	}
	target := c.URL
	if c.Secret != "" {
		ts, sign := DingTalkSign(c.Secret, now)
		target = addQuery(target, url.Values{"timestamp": {ts}, "sign": {sign}})
	}
	return request{url: target, body: body, check: errcodeCheck}, nil
}

// DingTalkSign returns DingTalk's timestamp and signature for a robot
// secret at now.
func DingTalkSign(secret string, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.UnixMilli(), 10)
	mac := hmacSHA256([]byte(secret), []byte(timestamp+"\n"+secret))
	return timestamp, base64.StdEncoding.EncodeToString(mac)
}

// feishuRequest is a Feishu/Lark custom bot text message. With a secret,
// the body carries Feishu's signature: timestamp (Unix seconds) and sign
// = base64(HMAC-SHA256 keyed with timestamp + "\n" + secret, of nothing).
func feishuRequest(c Config, m Message, now time.Time) (request, error) {
	msg := map[string]any{"msg_type": "text", "content": map[string]string{"text": m.plain()}}
	if c.Secret != "" {
		ts, sign := FeishuSign(c.Secret, now)
		msg["timestamp"], msg["sign"] = ts, sign
	}
	body, err := json.Marshal(msg)
	return request{url: c.URL, body: body, check: feishuCheck}, err
}

// FeishuSign returns Feishu's timestamp and signature for a bot secret at
// now.
func FeishuSign(secret string, now time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(now.Unix(), 10)
	mac := hmacSHA256([]byte(timestamp+"\n"+secret), nil)
	return timestamp, base64.StdEncoding.EncodeToString(mac)
}

// weComRequest is a WeCom group robot markdown message.
func weComRequest(c Config, m Message, _ time.Time) (request, error) {
	body, err := json.Marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"content": cut("**"+oneLine(m.Title)+"**\n"+markdownLines(m.Text), maxText)},
	})
	return request{url: c.URL, body: body, check: errcodeCheck}, err
}

func hmacSHA256(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

// addQuery appends parameters to a URL's query.
func addQuery(raw string, v url.Values) string {
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + v.Encode()
}

// markdownLines keeps the text's line breaks in chat markdown, where a
// single newline does not break a line.
func markdownLines(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "  \n")
}

// errcodeCheck reads DingTalk's and WeCom's answer: {"errcode": 0, …}.
func errcodeCheck(body []byte) error {
	var r struct {
		Errcode *int   `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	if json.Unmarshal(body, &r) != nil || r.Errcode == nil {
		return &serviceError{msg: "unexpected answer"}
	}
	if *r.Errcode != 0 {
		return &serviceError{msg: "errcode " + strconv.Itoa(*r.Errcode) + ": " + oneLine(r.Errmsg)}
	}
	return nil
}

// feishuCheck reads Feishu's answer: {"code": 0, …} (older bots:
// {"StatusCode": 0, …}).
func feishuCheck(body []byte) error {
	var r struct {
		Code       *int   `json:"code"`
		Msg        string `json:"msg"`
		StatusCode *int   `json:"StatusCode"`
	}
	if json.Unmarshal(body, &r) != nil || (r.Code == nil && r.StatusCode == nil) {
		return &serviceError{msg: "unexpected answer"}
	}
	if r.Code != nil && *r.Code != 0 {
		return &serviceError{msg: "code " + strconv.Itoa(*r.Code) + ": " + oneLine(r.Msg)}
	}
	if r.Code == nil && *r.StatusCode != 0 {
		return &serviceError{msg: "code " + strconv.Itoa(*r.StatusCode)}
	}
	return nil
}

// serviceError is a refusal the service answered with: not retried.
type serviceError struct{ msg string }

func (e *serviceError) Error() string { return e.msg }
