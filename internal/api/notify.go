package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/finding"
	"github.com/vigil-sec/vigil/internal/notify"
	"github.com/vigil-sec/vigil/internal/store"
)

// Notifier sends test messages to notification channels.
type Notifier interface {
	// Test sends a test message (text, or a standard one when empty) to
	// the channel now and records the outcome.
	Test(ctx context.Context, ch store.Channel, text string) error
}

// codeDelivery answers a test message the channel did not take.
const codeDelivery = "delivery_failed"

var channelsSpec = &listSpec{
	filters: []param{
		{name: "kind", desc: "webhook, email, dingtalk, feishu, wecom, slack; a,b for either"},
		{name: "enabled", desc: `"true" or "false"`},
	},
	sorts: []string{"name", "created"},
}

// channelCreate is the body of POST /notification-channels.
type channelCreate struct {
	Name        string `json:"name" doc:"1-100 characters, unique"`
	Kind        string `json:"kind" enum:"webhook,email,dingtalk,feishu,wecom,slack"`
	MinSeverity string `json:"minSeverity,omitempty" enum:"unknown,low,medium,high,critical" doc:"the lowest severity sent; default high"`
	Enabled     *bool  `json:"enabled,omitempty" doc:"default true"`
	// Config is the kind's settings (notify.Config).
	Config json.RawMessage `json:"config" doc:"url and secret (webhook, dingtalk, feishu: signing), url (slack, wecom), or host, port, username, password, from, to, tls (email); never returned"`
}

// channelView is a channel as the API returns it: never its
// configuration, only where it sends.
type channelView struct {
	store.Channel
	Target string `json:"target" doc:"where it sends, without secrets: the URL's scheme and host, or the SMTP server and recipients"`
}

func viewChannel(ch store.Channel) channelView {
	return channelView{Channel: ch, Target: notify.Describe(ch.Kind, ch.Config)}
}

func (s *Server) channelsList(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	o, err := listOptions(r, channelsSpec, nil)
	if err != nil {
		return err
	}
	pg, err := s.st.ListChannels(r.Context(), o)
	if err != nil {
		return err
	}
	out := store.Page[channelView]{Items: make([]channelView, 0, len(pg.Items)), Next: pg.Next}
	for _, ch := range pg.Items {
		out.Items = append(out.Items, viewChannel(ch))
	}
	writePage(w, r, out)
	return nil
}

func (s *Server) channelCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req channelCreate
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := checkLabel("name", req.Name, 100); err != nil {
		return err
	}
	if !slices.Contains(store.ChannelKinds, req.Kind) {
		return invalidf("kind must be one of %s", strings.Join(store.ChannelKinds, ", "))
	}
	if req.MinSeverity == "" {
		req.MinSeverity = "high"
	}
	if _, err := finding.ParseSeverity(req.MinSeverity); err != nil {
		return invalidf("minSeverity must be unknown, low, medium, high or critical")
	}
	c, err := notify.ParseConfig(req.Kind, req.Config)
	if err != nil {
		return invalidf("config: %s", strings.TrimPrefix(err.Error(), notify.ErrConfig.Error()+": "))
	}
	cfg, err := json.Marshal(c) // normalised: defaults filled, nothing unknown
	if err != nil {
		return err
	}
	enabled := req.Enabled == nil || *req.Enabled
	ch, err := s.st.CreateChannel(r.Context(), store.Channel{Name: req.Name, Kind: req.Kind, Config: cfg,
		MinSeverity: strings.ToLower(req.MinSeverity), Enabled: enabled, CreatedBy: p.Actor(), CreatedAt: s.now()})
	if err != nil {
		return err
	}
	v := viewChannel(ch)
	s.audit(r.Context(), r, p, actChannelCreate, channelTarget(ch.ID), map[string]any{
		"name": ch.Name, "kind": ch.Kind, "minSeverity": ch.MinSeverity, "enabled": ch.Enabled, "target": v.Target,
	})
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) channelDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ch, err := s.st.Channel(ctx, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteChannel(ctx, id); err != nil {
		return err
	}
	s.audit(ctx, r, p, actChannelDelete, channelTarget(id), map[string]any{"name": ch.Name, "kind": ch.Kind})
	noContent(w)
	return nil
}

// testRequest is the optional body of POST
// /notification-channels/{id}/test.
type testRequest struct {
	Text string `json:"text,omitempty" doc:"the message, at most 500 bytes; default: a standard test text"`
}

// testResult answers POST /notification-channels/{id}/test.
type testResult struct {
	Sent bool `json:"sent"`
}

// channelTest sends a test message: 200 when the channel took it, 502
// with the (secret-free) reason when it did not, 503 without a notifier.
func (s *Server) channelTest(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req testRequest
	if err := decodeOptional(w, r, &req); err != nil {
		return err
	}
	if req.Text != "" {
		if err := checkText("text", req.Text, 500); err != nil {
			return err
		}
	}
	ctx := r.Context()
	ch, err := s.st.Channel(ctx, id)
	if err != nil {
		return err
	}
	if s.o.Notifier == nil {
		return errorf(http.StatusServiceUnavailable, codeUnavailable, "notifications are not available on this server")
	}
	sendErr := s.o.Notifier.Test(ctx, ch, req.Text)
	detail := map[string]any{"name": ch.Name, "kind": ch.Kind, "sent": sendErr == nil}
	if sendErr != nil {
		detail["error"] = sendErr.Error()
	}
	s.audit(ctx, r, p, actChannelTest, channelTarget(id), detail)
	if sendErr != nil {
		if errors.Is(sendErr, context.Canceled) {
			return sendErr
		}
		return errorf(http.StatusBadGateway, codeDelivery, "%s", sendErr.Error())
	}
	writeJSON(w, http.StatusOK, testResult{Sent: true})
	return nil
}

func channelTarget(id int64) string { return "notification_channel:" + strconv.FormatInt(id, 10) }

// decodeOptional is decode for a body that may be absent (no bytes at
// all): v is then left as it is.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	return decode(w, r, v)
}
