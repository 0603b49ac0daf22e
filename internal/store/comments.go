package store

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"
)

// maxCommentText bounds a comment (bytes).
const maxCommentText = 10000

const commentCols = `id, finding_id, author, text, status, created_at`

func commentDests(c *Comment) []any {
	return []any{&c.ID, &c.FindingID, &c.Author, &c.Text, &c.Status, timeDest{&c.CreatedAt}}
}

// AddComment appends a comment by author to a finding's thread at at. An
// unknown finding is ErrNotFound; empty or oversized text ErrInvalid.
func (db *DB) AddComment(ctx context.Context, findingID, author, text string, at time.Time) (Comment, error) {
	var cm Comment
	err := db.tx(ctx, func(c conn) error {
		var err error
		cm, err = addComment(ctx, c, Comment{FindingID: findingID, Author: author, Text: text, CreatedAt: at})
		return err
	})
	if err != nil {
		return Comment{}, fmt.Errorf("store: add comment: %w", err)
	}
	return cm, nil
}

// addComment inserts cm after checking its finding exists.
func addComment(ctx context.Context, c conn, cm Comment) (Comment, error) {
	switch {
	case cm.FindingID == "" || cm.Author == "":
		return Comment{}, invalidf("comment without a finding or author")
	case cm.Text == "" && cm.Status == "":
		return Comment{}, invalidf("empty comment")
	case len(cm.Text) > maxCommentText || !utf8.ValidString(cm.Text):
		return Comment{}, invalidf("comment text must be valid UTF-8 of at most %d bytes", maxCommentText)
	}
	var id string
	if err := c.row(ctx, []any{&id}, `SELECT id FROM findings WHERE id = ?`, cm.FindingID); err != nil {
		return Comment{}, fmt.Errorf("finding %s: %w", cm.FindingID, err)
	}
	if cm.CreatedAt.IsZero() {
		cm.CreatedAt = time.Now()
	}
	cm.CreatedAt = utc(cm.CreatedAt)
	if err := c.row(ctx, []any{&cm.ID},
		`INSERT INTO finding_comments (finding_id, author, text, status, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		cm.FindingID, cm.Author, cm.Text, cm.Status, c.db.tv(cm.CreatedAt)); err != nil {
		return Comment{}, err
	}
	return cm, nil
}

var commentsList = &listDef{
	tag:     "comments",
	sorts:   map[string]column{"created": {"created_at", kTime}},
	def:     "created",
	ties:    []column{{"id", kInt}},
	filters: map[string]filterFn{"finding_id": fExact("finding_id")},
}

// ListComments lists comments. Filters: finding_id; sorts: created
// (default, oldest first; ties by id).
func (db *DB) ListComments(ctx context.Context, o ListOptions) (Page[Comment], error) {
	return list(ctx, db, commentsList, o, query[Comment]{cols: commentCols, from: "finding_comments", dests: commentDests}, nil)
}

// SetFindingStatus makes an accepted finding open again at at, clearing
// its acceptance, and records the change with by and reason in the
// finding's thread, in one transaction. status must be StatusOpen
// (acceptance is AcceptFindings); a finding that is not accepted is
// ErrConflict, an unknown one ErrNotFound.
func (db *DB) SetFindingStatus(ctx context.Context, id, status, by, reason string, at time.Time) error {
	if status != StatusOpen {
		return fmt.Errorf("store: set finding status: %w", invalidf("status %q cannot be set directly (want open; accept with AcceptFindings)", status))
	}
	if by == "" {
		return fmt.Errorf("store: set finding status: %w", invalidf("status change without an actor"))
	}
	err := db.tx(ctx, func(c conn) error {
		var cur, kind, rule string
		if err := c.row(ctx, []any{&cur, &kind, &rule}, `SELECT status, kind, rule_id FROM findings WHERE id = ?`, id); err != nil {
			return fmt.Errorf("finding %s: %w", id, err)
		}
		if cur != StatusAccepted {
			return fmt.Errorf("%w: finding %s is %s, not accepted", ErrConflict, id, cur)
		}
		if _, err := c.exec(ctx, `UPDATE findings SET status = 'open', accept_reason = '', accept_expires = NULL, accepted_by = ''
			WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := addComment(ctx, c, Comment{FindingID: id, Author: by, Text: reason, Status: status, CreatedAt: at}); err != nil {
			return err
		}
		if kind == vulnKind {
			return refreshVulnSummary(ctx, c, map[string]bool{rule: true})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set finding status: %w", err)
	}
	return nil
}
