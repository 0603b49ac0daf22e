package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// channelKinds are the kinds of notification channel.
var channelKinds = []string{"webhook", "email", "dingtalk", "feishu", "wecom", "slack"}

// emailTLS are the email channels' TLS modes ("" is STARTTLS when
// offered).
var emailTLS = []string{"", "starttls", "implicit"}

// notificationsView is the notification channels section.
type notificationsView struct {
	listView[channel]
	Kinds []string
	TLS   []string
}

var channelsSpec = &listSpec{sorts: []string{"name", "created"}}

// notificationsPage lists the channels for admins; other roles see a
// note (the API refuses them the list).
func (c *Console) notificationsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	v := notificationsView{Kinds: channelKinds, TLS: emailTLS}
	if s.CanAdmin() {
		lv, err := fetchList[channel](c, r, s, parseList(channelsSpec, r.URL.Query()), apiPath("notification-channels"), "/settings/notifications", nil, nil)
		if err != nil {
			return err
		}
		v.listView = lv
	}
	return c.show(w, r, s, "notifications", "settings", s.lang.t("settings.notifications"), settingsView{Section: "notifications", Data: v})
}

// channelForm reads the new-channel form into the API's request body;
// an invalid form is an error naming the field. Only the fields of the
// kind are sent.
func channelForm(s *session, f map[string][]string) (map[string]any, error) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	name, kind, sev := get("name"), get("kind"), get("minSeverity")
	switch {
	case name == "" || len(name) > 100 || !validText(name):
		return nil, invalid(s, "channels.badName")
	case !slices.Contains(channelKinds, kind):
		return nil, invalid(s, "channels.badKind")
	case !slices.Contains(severities, sev):
		return nil, invalid(s, "channels.badSeverity")
	}
	for _, k := range []string{"url", "secret", "host", "port", "username", "password", "from", "to", "tls"} {
		if !validText(get(k)) {
			return nil, invalid(s, "channels.badConfig")
		}
	}
	cfg := map[string]any{}
	if kind == "email" {
		cfg["host"], cfg["from"] = get("host"), get("from")
		if p := get("port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return nil, invalid(s, "channels.badConfig")
			}
			cfg["port"] = n
		}
		var to []string
		for a := range strings.SplitSeq(get("to"), ",") {
			if a = strings.TrimSpace(a); a != "" {
				to = append(to, a)
			}
		}
		cfg["to"] = to
		if u := get("username"); u != "" {
			pw := ""
			if v := f["password"]; len(v) > 0 {
				pw = v[0]
			}
			cfg["username"], cfg["password"] = u, pw
		}
		if !slices.Contains(emailTLS, get("tls")) {
			return nil, invalid(s, "channels.badConfig")
		}
		if t := get("tls"); t != "" {
			cfg["tls"] = t
		}
	} else {
		cfg["url"] = get("url")
		if sec := get("secret"); sec != "" {
			cfg["secret"] = sec
		}
	}
	return map[string]any{"name": name, "kind": kind, "minSeverity": sev, "enabled": get("enabled") == "on", "config": cfg}, nil
}

func (c *Console) channelCreatePost(w http.ResponseWriter, r *http.Request, s *session) error {
	body, err := channelForm(s, r.PostForm)
	if err != nil {
		return err
	}
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("notification-channels"), nil, body, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.channelCreated", 1)
	http.Redirect(w, r, "/settings/notifications", http.StatusSeeOther)
	return nil
}

func (c *Console) channelDeletePost(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.token, http.MethodDelete, apiPath("notification-channels", r.PathValue("id")), nil, nil, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.channelDeleted", 1)
	http.Redirect(w, r, "/settings/notifications", http.StatusSeeOther)
	return nil
}

// channelTestPost sends a test message; a delivery failure shows the
// API's reason on the error page.
func (c *Console) channelTestPost(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("notification-channels", r.PathValue("id"), "test"), nil, map[string]string{}, nil); err != nil {
		return err
	}
	setFlash(w, r, "flash.channelTested", 1)
	http.Redirect(w, r, "/settings/notifications", http.StatusSeeOther)
	return nil
}
