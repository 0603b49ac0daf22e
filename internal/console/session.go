package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookies the console sets.
const (
	sessionCookie = "vigil_session"
	langCookie    = "vigil_lang"
	flashCookie   = "vigil_flash"
)

// session is a signed-in browser: its API session token and who it is.
type session struct {
	token string
	Me    me
	lang  lang
	CSRF  string
	Flash *flash
}

// CanWrite says whether the user's role allows changes (analyst, admin).
func (s *session) CanWrite() bool { return s.Me.Role == "analyst" || s.Me.Role == "admin" }

// CanAdmin says whether the user is an admin.
func (s *session) CanAdmin() bool { return s.Me.Role == "admin" }

// session reads the session cookie and asks the API who it is. An
// absent or refused token is an *apiError with status 401.
func (c *Console) session(w http.ResponseWriter, r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 256 {
		return nil, &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "not signed in"}
	}
	s := &session{token: ck.Value, lang: requestLang(r)}
	if err := c.api.get(r, s.token, apiPath("me"), nil, &s.Me); err != nil {
		return nil, err
	}
	s.CSRF = c.csrfToken(s.token)
	s.Flash = takeFlash(w, r, s.lang)
	return s, nil
}

// requestLang is the language cookie's, else Accept-Language's.
func requestLang(r *http.Request) lang {
	if ck, err := r.Cookie(langCookie); err == nil {
		if l, ok := parseLang(ck.Value); ok {
			return l
		}
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

// csrfToken binds forms to the session: an HMAC of its token under a key
// of this process. A restart invalidates open forms, not sessions.
func (c *Console) csrfToken(sessionToken string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte("vigil console csrf\x00"))
	m.Write([]byte(sessionToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) csrfOK(sessionToken, got string) bool {
	if got == "" {
		return false
	}
	return hmac.Equal([]byte(c.csrfToken(sessionToken)), []byte(got))
}

// setCookie sets an HttpOnly, SameSite=Strict cookie, Secure over TLS.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	ck := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if !expires.IsZero() {
		ck.Expires = expires
		ck.MaxAge = max(1, int(time.Until(expires).Seconds()))
	}
	http.SetCookie(w, ck)
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// loginView is the login page's data.
type loginView struct {
	Next  string
	Name  string
	Error string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if ck, err := r.Cookie(sessionCookie); err == nil && ck.Value != "" {
		var m me
		if c.api.get(r, ck.Value, apiPath("me"), nil, &m) == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	c.renderLogin(w, r, http.StatusOK, loginView{Next: next})
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginView) {
	l := requestLang(r)
	c.render(w, r, status, "login", &view{Lang: l, Title: l.t("login.title"), Path: r.URL.RequestURI(), Page: v})
}

func (c *Console) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	l := requestLang(r)
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	v := loginView{Next: safeNext(r.PostForm.Get("next")), Name: name}
	if len(name) > maxTextValue {
		v.Name = ""
	}
	if name == "" || password == "" {
		v.Error = l.t("login.missing")
		c.renderLogin(w, r, http.StatusBadRequest, v)
		return
	}
	var resp loginResponse
	err := c.api.call(r, "", http.MethodPost, apiPath("login"), nil, map[string]string{"name": name, "password": password}, &resp)
	if err != nil {
		status := statusOf(err)
		switch status {
		case http.StatusUnauthorized:
			v.Error = l.t("login.bad")
		case http.StatusTooManyRequests:
			v.Error = l.t("login.throttled")
		case http.StatusBadRequest:
			v.Error = l.t("login.missing")
		default:
			c.log.ErrorContext(r.Context(), "login", "err", err)
			v.Error = l.t("error.internal")
		}
		c.renderLogin(w, r, status, v)
		return
	}
	setCookie(w, r, sessionCookie, resp.Token, resp.ExpiresAt)
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

func (c *Console) logoutPost(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := c.api.call(r, s.token, http.MethodPost, apiPath("logout"), nil, nil, nil); err != nil && statusOf(err) != http.StatusUnauthorized {
		return err
	}
	clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// languagePost sets the language cookie and goes back. It needs no
// session (the login page has the switcher too) and changes nothing
// but a preference; cross-site POSTs are refused before it.
func (c *Console) languagePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if l, ok := parseLang(r.PostForm.Get("lang")); ok {
		setCookie(w, r, langCookie, string(l), time.Now().AddDate(1, 0, 0))
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// flash is a one-time message shown on the page after a redirect.
type flash struct {
	Kind string // "ok" or "error"
	Text string
}

// flashKeys are the messages a flash cookie may name.
var flashKeys = []string{
	"flash.accepted", "flash.rescan", "flash.agentRevoked", "flash.enrollRevoked",
	"flash.userCreated", "flash.userUpdated", "flash.userDeleted", "flash.tokenRevoked",
	"flash.commented", "flash.reopened", "flash.channelCreated", "flash.channelDeleted", "flash.channelTested",
}

// setFlash names a message (and a count) for the next page.
func setFlash(w http.ResponseWriter, r *http.Request, key string, n int) {
	setCookie(w, r, flashCookie, key+"."+strconv.Itoa(n), time.Now().Add(time.Minute))
}

// takeFlash reads and clears the flash cookie. Only known keys render.
func takeFlash(w http.ResponseWriter, r *http.Request, l lang) *flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	clearCookie(w, r, flashCookie)
	i := strings.LastIndexByte(ck.Value, '.')
	if i < 0 {
		return nil
	}
	key := ck.Value[:i]
	n, err := strconv.Atoi(ck.Value[i+1:])
	if err != nil || n < 0 {
		return nil
	}
	for _, k := range flashKeys {
		if k == key {
			if strings.Contains(catalogs[l][key], "%d") {
				return &flash{Kind: "ok", Text: l.t(key, n)}
			}
			return &flash{Kind: "ok", Text: l.t(key)}
		}
	}
	return nil
}
