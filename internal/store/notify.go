package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

const channelCols = `id, name, kind, config, min_severity, enabled, created_by, created_at, last_sent_at, last_error`

func channelDests(ch *Channel) []any {
	return []any{&ch.ID, &ch.Name, &ch.Kind, rawDest{&ch.Config}, &ch.MinSeverity, &ch.Enabled, &ch.CreatedBy,
		timeDest{&ch.CreatedAt}, ntimeDest{&ch.LastSentAt}, &ch.LastError}
}

// CreateChannel stores a notification channel (ID is assigned; CreatedAt
// defaults to now; MinSeverity "" is high). Name and Kind (one of
// ChannelKinds) are required and Config must be a JSON object; a name
// already used is ErrConflict.
func (db *DB) CreateChannel(ctx context.Context, ch Channel) (Channel, error) {
	if ch.Name == "" || !slices.Contains(ChannelKinds, ch.Kind) {
		return Channel{}, fmt.Errorf("store: create channel: %w", invalidf("channel needs a name and a kind (%v)", ChannelKinds))
	}
	if len(ch.Config) == 0 || !jsonValid(ch.Config) || ch.Config[0] != '{' {
		return Channel{}, fmt.Errorf("store: create channel: %w", invalidf("channel config must be a JSON object"))
	}
	if ch.MinSeverity == "" {
		ch.MinSeverity = "high"
	}
	sev, rank, err := severity(ch.MinSeverity)
	if err != nil {
		return Channel{}, fmt.Errorf("store: create channel: %w", err)
	}
	ch.MinSeverity = sev
	if ch.CreatedAt.IsZero() {
		ch.CreatedAt = time.Now()
	}
	ch.CreatedAt = utc(ch.CreatedAt)
	ch.LastSentAt, ch.LastError = nil, ""
	if err := db.writer().row(ctx, []any{&ch.ID},
		`INSERT INTO notification_channels (name, kind, config, min_severity, min_rank, enabled, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		ch.Name, ch.Kind, string(ch.Config), ch.MinSeverity, rank, ch.Enabled, ch.CreatedBy, db.tv(ch.CreatedAt)); err != nil {
		return Channel{}, fmt.Errorf("store: create channel: %w", err)
	}
	return ch, nil
}

// Channel returns the channel with the id.
func (db *DB) Channel(ctx context.Context, id int64) (Channel, error) {
	var ch Channel
	if err := db.reader().row(ctx, channelDests(&ch), `SELECT `+channelCols+` FROM notification_channels WHERE id = ?`, id); err != nil {
		return Channel{}, fmt.Errorf("store: channel %d: %w", id, err)
	}
	return ch, nil
}

var channelsList = &listDef{
	tag: "channels",
	sorts: map[string]column{
		"name":    {"name", kString},
		"created": {"created_at", kTime},
	},
	def:  "name",
	ties: []column{{"id", kInt}},
	filters: map[string]filterFn{
		"kind":    fEnum("kind", ChannelKinds...),
		"enabled": fBool("enabled"),
	},
}

// ListChannels lists notification channels with their Config. Filters:
// kind (enumerated), enabled ("true"/"false"); sorts: name (default),
// created.
func (db *DB) ListChannels(ctx context.Context, o ListOptions) (Page[Channel], error) {
	return list(ctx, db, channelsList, o, query[Channel]{cols: channelCols, from: "notification_channels", dests: channelDests}, nil)
}

// DeleteChannel removes a channel (ErrNotFound when there is none).
func (db *DB) DeleteChannel(ctx context.Context, id int64) error {
	res, err := db.writer().exec(ctx, `DELETE FROM notification_channels WHERE id = ?`, id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: delete channel %d: %w", id, err)
	}
	return nil
}

// maxDeliveryError bounds the stored text of a delivery failure.
const maxDeliveryError = 500

// RecordDelivery notes a delivery attempt's outcome at at: a success
// (errText "") sets LastSentAt and clears LastError; a failure keeps
// LastSentAt and stores errText (cut to 500 bytes).
func (db *DB) RecordDelivery(ctx context.Context, id int64, at time.Time, errText string) error {
	var res interface{ RowsAffected() (int64, error) }
	var err error
	if errText == "" {
		res, err = db.writer().exec(ctx, `UPDATE notification_channels SET last_sent_at = ?, last_error = '' WHERE id = ?`, db.tv(at), id)
	} else {
		res, err = db.writer().exec(ctx, `UPDATE notification_channels SET last_error = ? WHERE id = ?`, cutUTF8(errText, maxDeliveryError), id)
	}
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: record delivery %d: %w", id, err)
	}
	return nil
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
