package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

const agentCols = `id, hostname, version, labels, asset_id, enrolled_at, last_seen, heartbeat_ns, silent,
	cert_serial, cert_not_after, revoked_at, last_seq, config, stats`

func agentDests(a *Agent) []any {
	return []any{&a.ID, &a.Hostname, &a.Version, labelsDest{&a.Labels}, &a.AssetID, timeDest{&a.EnrolledAt},
		timeDest{&a.LastSeen}, durationDest{&a.Heartbeat}, &a.Silent, &a.CertSerial, timeDest{&a.CertNotAfter},
		ntimeDest{&a.RevokedAt}, seqDest{&a.LastSeq}, rawDest{&a.Config}, rawDest{&a.Stats}}
}

// CreateAgent stores a newly enrolled agent and its first certificate
// (when CertSerial is set). ID is required; a taken ID is ErrConflict.
// EnrolledAt defaults to now and LastSeen to EnrolledAt.
func (db *DB) CreateAgent(ctx context.Context, a Agent) (Agent, error) {
	if a.ID == "" {
		return Agent{}, invalidf("agent without an id")
	}
	if a.Heartbeat < 0 {
		return Agent{}, invalidf("negative heartbeat")
	}
	if a.EnrolledAt.IsZero() {
		a.EnrolledAt = time.Now()
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = a.EnrolledAt
	}
	a.EnrolledAt, a.LastSeen, a.CertNotAfter = utc(a.EnrolledAt), utc(a.LastSeen), utc(a.CertNotAfter)
	if a.RevokedAt != nil {
		t := utc(*a.RevokedAt)
		a.RevokedAt = &t
	}
	seq, err := seqArg(a.LastSeq)
	if err != nil {
		return Agent{}, err
	}
	config, err := jsonArg("agent config", a.Config)
	if err != nil {
		return Agent{}, err
	}
	stats, err := jsonArg("agent stats", a.Stats)
	if err != nil {
		return Agent{}, err
	}
	err = db.tx(ctx, func(c conn) error {
		if _, err := c.exec(ctx, `INSERT INTO agents (`+agentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Hostname, a.Version, labelsArg(a.Labels), a.AssetID, db.tv(a.EnrolledAt), db.tv(a.LastSeen),
			int64(a.Heartbeat), a.Silent, a.CertSerial, db.tv(a.CertNotAfter), db.tvp(a.RevokedAt), seq, config, stats); err != nil {
			return err
		}
		if a.CertSerial != "" {
			return addCert(ctx, c, a.ID, a.CertSerial, a.CertNotAfter, a.EnrolledAt)
		}
		return nil
	})
	if err != nil {
		return Agent{}, fmt.Errorf("store: create agent %s: %w", a.ID, err)
	}
	return a, nil
}

// addCert records a certificate issued to an agent. A serial is unique:
// recording one twice is ErrConflict.
func addCert(ctx context.Context, c conn, agentID, serial string, notAfter, issued time.Time) error {
	_, err := c.exec(ctx, `INSERT INTO agent_certs (serial, agent_id, not_after, issued_at) VALUES (?, ?, ?, ?)`,
		serial, agentID, c.db.tv(notAfter), c.db.tv(issued))
	return err
}

// Agent returns the agent with the id.
func (db *DB) Agent(ctx context.Context, id string) (Agent, error) {
	var a Agent
	if err := db.reader().row(ctx, agentDests(&a), `SELECT `+agentCols+` FROM agents WHERE id = ?`, id); err != nil {
		return Agent{}, fmt.Errorf("store: agent %s: %w", id, err)
	}
	return a, nil
}

var agentsList = &listDef{
	tag: "agents",
	sorts: map[string]column{
		"hostname":  {"hostname", kString},
		"last_seen": {"last_seen", kTime},
		"enrolled":  {"enrolled_at", kTime},
	},
	def:  "hostname",
	ties: []column{{"id", kString}},
	filters: map[string]filterFn{
		"hostname": fExact("hostname"),
		"version":  fExact("version"),
		"silent":   fBool("silent"),
		"revoked":  fNotNull("revoked_at"),
		"label":    fLabel("labels"),
	},
}

// ListAgents lists agents. Filters: hostname, version (exact), silent,
// revoked ("true"/"false"), label (k=v); sorts: hostname (default),
// last_seen, enrolled.
func (db *DB) ListAgents(ctx context.Context, o ListOptions) (Page[Agent], error) {
	q := query[Agent]{cols: agentCols, from: "agents", dests: agentDests}
	return list(ctx, db, agentsList, o, q, nil)
}

// SetAgentCert records a newly issued certificate: it becomes the agent's
// current one (the one before is rotated away, not revoked).
func (db *DB) SetAgentCert(ctx context.Context, id, serial string, notAfter time.Time) error {
	if serial == "" {
		return invalidf("certificate without a serial")
	}
	err := db.tx(ctx, func(c conn) error {
		res, err := c.exec(ctx, `UPDATE agents SET cert_serial = ?, cert_not_after = ? WHERE id = ?`, serial, db.tv(notAfter), id)
		if err := affected(res, err); err != nil {
			return err
		}
		return addCert(ctx, c, id, serial, notAfter, time.Now())
	})
	if err != nil {
		return fmt.Errorf("store: set certificate of agent %s: %w", id, err)
	}
	return nil
}

// RevokeAgent revokes the agent, and so every certificate issued to it (an
// agent already revoked keeps its first revocation time).
func (db *DB) RevokeAgent(ctx context.Context, id string, at time.Time) error {
	res, err := db.writer().exec(ctx, `UPDATE agents SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, db.tv(at), id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: revoke agent %s: %w", id, err)
	}
	return nil
}

// SerialRevoked says whether a certificate serial was revoked: a serial
// issued to a revoked agent is; a rotated-away serial of an agent in good
// standing is not. A serial the store never recorded is ErrNotFound (with
// false), so callers that refuse on any error fail closed.
func (db *DB) SerialRevoked(ctx context.Context, serial string) (bool, error) {
	var revoked bool
	err := db.reader().row(ctx, []any{&revoked},
		`SELECT a.revoked_at IS NOT NULL FROM agent_certs c JOIN agents a ON a.id = c.agent_id WHERE c.serial = ?`, serial)
	if err != nil {
		return false, fmt.Errorf("store: certificate serial %s: %w", serial, err)
	}
	return revoked, nil
}

// SetAgentConfig stores the configuration pushed to the agent.
func (db *DB) SetAgentConfig(ctx context.Context, id string, config json.RawMessage) error {
	v, err := jsonArg("agent config", config)
	if err != nil {
		return err
	}
	res, err := db.writer().exec(ctx, `UPDATE agents SET config = ? WHERE id = ?`, v, id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: set config of agent %s: %w", id, err)
	}
	return nil
}

// AgentHeartbeat sets the agent's LastSeen and Stats (kept when stats is
// empty) and clears Silent.
func (db *DB) AgentHeartbeat(ctx context.Context, id string, seen time.Time, stats json.RawMessage) error {
	v, err := jsonArg("agent stats", stats)
	if err != nil {
		return err
	}
	res, err := db.writer().exec(ctx, `UPDATE agents SET last_seen = ?, stats = COALESCE(?, stats), silent = FALSE WHERE id = ?`,
		db.tv(seen), v, id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: heartbeat of agent %s: %w", id, err)
	}
	return nil
}

// SilentAgents marks agents not revoked, not yet silent, whose LastSeen is
// older than twice their Heartbeat at now, and returns them (with Silent
// set). Agents without a heartbeat (0) never go silent.
func (db *DB) SilentAgents(ctx context.Context, now time.Time) ([]Agent, error) {
	due := `last_seen + heartbeat_ns / 500 < ?` // microseconds: 2 × ns / 1000
	if db.pg() {
		due = `last_seen + (heartbeat_ns / 500) * INTERVAL '1 microsecond' < ?`
	}
	var out []Agent
	err := db.tx(ctx, func(c conn) error {
		out = nil
		rows, err := c.query(ctx, `UPDATE agents SET silent = TRUE
			WHERE revoked_at IS NULL AND silent = FALSE AND heartbeat_ns > 0 AND `+due+`
			RETURNING `+agentCols, db.tv(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a Agent
			if err := rows.Scan(agentDests(&a)...); err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: silent agents: %w", err)
	}
	return out, nil
}
