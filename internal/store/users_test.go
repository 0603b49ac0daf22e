package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUsers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		n, err := db.CountUsers(ctx)
		must(t, err)
		if n != 0 {
			t.Fatalf("CountUsers of an empty store = %d", n)
		}
		alice, err := db.CreateUser(ctx, User{Name: "alice", Role: RoleAdmin, PasswordHash: "$argon2id$x", CreatedAt: t0})
		must(t, err)
		if alice.ID == 0 {
			t.Fatal("CreateUser assigned no ID")
		}
		_, err = db.CreateUser(ctx, User{Name: "alice", Role: RoleReadOnly})
		wantErr(t, "duplicate name", err, ErrConflict)
		_, err = db.CreateUser(ctx, User{Name: "bob", Role: "root"})
		wantErr(t, "unknown role", err, ErrInvalid)
		_, err = db.CreateUser(ctx, User{Role: RoleAdmin})
		wantErr(t, "no name", err, ErrInvalid)
		bob, err := db.CreateUser(ctx, User{Name: "bob", Role: RoleAnalyst, CreatedAt: at(time.Hour)})
		must(t, err)
		if bob.CreatedAt.IsZero() {
			t.Error("CreatedAt not set")
		}

		got, err := db.User(ctx, alice.ID)
		must(t, err)
		if diff := cmp.Diff(alice, got); diff != "" {
			t.Errorf("User (-created +read):\n%s", diff)
		}
		got, err = db.UserByName(ctx, "bob")
		must(t, err)
		if got.ID != bob.ID || got.Role != RoleAnalyst {
			t.Errorf("UserByName(bob) = %+v", got)
		}
		_, err = db.User(ctx, 999)
		wantErr(t, "User(999)", err, ErrNotFound)
		_, err = db.UserByName(ctx, "carol")
		wantErr(t, "UserByName(carol)", err, ErrNotFound)

		bob.Role, bob.Disabled, bob.PasswordHash = RoleReadOnly, true, "new"
		bob.Name = "ignored"
		must(t, db.UpdateUser(ctx, bob))
		got, err = db.User(ctx, bob.ID)
		must(t, err)
		if got.Role != RoleReadOnly || !got.Disabled || got.PasswordHash != "new" || got.Name != "bob" {
			t.Errorf("after UpdateUser: %+v", got)
		}
		wantErr(t, "UpdateUser unknown", db.UpdateUser(ctx, User{ID: 999, Role: RoleAdmin}), ErrNotFound)
		wantErr(t, "UpdateUser bad role", db.UpdateUser(ctx, User{ID: bob.ID, Role: "x"}), ErrInvalid)

		n, err = db.CountUsers(ctx)
		must(t, err)
		if n != 2 {
			t.Errorf("CountUsers = %d, want 2", n)
		}

		// Lists.
		p, err := db.ListUsers(ctx, ListOptions{})
		must(t, err)
		if names := userNames(p.Items); !cmp.Equal(names, []string{"alice", "bob"}) {
			t.Errorf("ListUsers = %v", names)
		}
		p, err = db.ListUsers(ctx, ListOptions{Sort: "created", Desc: true})
		must(t, err)
		if names := userNames(p.Items); !cmp.Equal(names, []string{"bob", "alice"}) {
			t.Errorf("ListUsers by created desc = %v", names)
		}
		for filter, want := range map[string][]string{
			"role=admin":             {"alice"},
			"role=admin,readonly":    {"alice", "bob"},
			"role=analyst":           nil,
			"name=bob":               {"bob"},
			"name=bob&role=readonly": {"bob"},
		} {
			p, err := db.ListUsers(ctx, ListOptions{Filter: parseFilter(filter)})
			must(t, err)
			if names := userNames(p.Items); !cmp.Equal(names, want) {
				t.Errorf("ListUsers(%s) = %v, want %v", filter, names, want)
			}
		}
		_, err = db.ListUsers(ctx, ListOptions{Filter: map[string]string{"role": "root"}})
		wantErr(t, "role=root", err, ErrInvalid)

		// Deleting a user deletes its tokens.
		tok, err := db.CreateToken(ctx, Token{UserID: bob.ID, Name: "ci", Hash: []byte("h1"), ExpiresAt: at(time.Hour)})
		must(t, err)
		must(t, db.DeleteUser(ctx, bob.ID))
		wantErr(t, "DeleteUser again", db.DeleteUser(ctx, bob.ID), ErrNotFound)
		_, err = db.Token(ctx, tok.ID)
		wantErr(t, "token of a deleted user", err, ErrNotFound)
	})
}

func userNames(us []User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

// parseFilter reads "k=v&k2=v2".
func parseFilter(s string) map[string]string {
	m := map[string]string{}
	for _, kv := range splitAmp(s) {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				m[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	return m
}

func splitAmp(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '&' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func TestTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		u, err := db.CreateUser(ctx, User{Name: "alice", Role: RoleAdmin})
		must(t, err)
		u2, err := db.CreateUser(ctx, User{Name: "bob", Role: RoleAdmin})
		must(t, err)
		api, err := db.CreateToken(ctx, Token{UserID: u.ID, Name: "ci", Hash: []byte{1, 2, 3}, Scopes: []string{"read", "write"},
			ExpiresAt: at(30 * 24 * time.Hour), CreatedAt: t0})
		must(t, err)
		sess, err := db.CreateToken(ctx, Token{UserID: u.ID, Session: true, Hash: []byte{4}, ExpiresAt: at(time.Hour), CreatedAt: at(time.Minute)})
		must(t, err)
		other, err := db.CreateToken(ctx, Token{UserID: u2.ID, Hash: []byte{5}, ExpiresAt: at(time.Hour), CreatedAt: at(2 * time.Minute)})
		must(t, err)
		_, err = db.CreateToken(ctx, Token{UserID: u.ID, Hash: []byte{1, 2, 3}, ExpiresAt: at(time.Hour)})
		wantErr(t, "duplicate hash", err, ErrConflict)
		_, err = db.CreateToken(ctx, Token{UserID: 999, Hash: []byte{9}, ExpiresAt: at(time.Hour)})
		wantErr(t, "unknown user", err, ErrNotFound)

		got, err := db.TokenByHash(ctx, []byte{1, 2, 3})
		must(t, err)
		if diff := cmp.Diff(api, got); diff != "" {
			t.Errorf("TokenByHash (-created +read):\n%s", diff)
		}
		_, err = db.TokenByHash(ctx, []byte{7})
		wantErr(t, "unknown hash", err, ErrNotFound)

		// Touch: recorded, then not rewritten within a minute.
		must(t, db.TouchToken(ctx, api.ID, at(time.Hour)))
		must(t, db.TouchToken(ctx, api.ID, at(time.Hour+30*time.Second)))
		got, err = db.Token(ctx, api.ID)
		must(t, err)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(time.Hour)) {
			t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, at(time.Hour))
		}
		must(t, db.TouchToken(ctx, api.ID, at(time.Hour+2*time.Minute)))
		got, _ = db.Token(ctx, api.ID)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(at(time.Hour+2*time.Minute)) {
			t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, at(time.Hour+2*time.Minute))
		}
		wantErr(t, "touch unknown", db.TouchToken(ctx, 999, t0), ErrNotFound)

		must(t, db.RevokeToken(ctx, sess.ID, at(2*time.Hour)))
		must(t, db.RevokeToken(ctx, sess.ID, at(3*time.Hour)))
		got, _ = db.Token(ctx, sess.ID)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(at(2*time.Hour)) {
			t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, at(2*time.Hour))
		}
		wantErr(t, "revoke unknown", db.RevokeToken(ctx, 999, t0), ErrNotFound)

		ids := func(p Page[Token]) []int64 {
			var out []int64
			for _, t := range p.Items {
				out = append(out, t.ID)
			}
			return out
		}
		for _, tc := range []struct {
			o    ListOptions
			want []int64
		}{
			{ListOptions{}, []int64{api.ID, sess.ID, other.ID}},
			{ListOptions{Desc: true}, []int64{other.ID, sess.ID, api.ID}},
			{ListOptions{Filter: map[string]string{"user_id": itoa64(u.ID)}}, []int64{api.ID, sess.ID}},
			{ListOptions{Filter: map[string]string{"session": "true"}}, []int64{sess.ID}},
			{ListOptions{Filter: map[string]string{"session": "false", "user_id": itoa64(u.ID)}}, []int64{api.ID}},
		} {
			p, err := db.ListTokens(ctx, tc.o)
			must(t, err)
			if got := ids(p); !cmp.Equal(got, tc.want) {
				t.Errorf("ListTokens(%+v) = %v, want %v", tc.o, got, tc.want)
			}
		}
		for _, f := range []map[string]string{{"session": "yes"}, {"user_id": "x"}, {"name": "ci"}} {
			_, err := db.ListTokens(ctx, ListOptions{Filter: f})
			wantErr(t, "ListTokens bad filter", err, ErrInvalid)
		}
	})
}

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAudit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *DB) {
		entries := []AuditEntry{
			{Time: at(1 * time.Minute), Actor: "user:alice", Action: "user.create", Target: "user:2", Detail: json.RawMessage(`{"name":"bob"}`), Remote: "127.0.0.1"},
			{Time: at(2 * time.Minute), Actor: "user:alice", Action: "finding.accept", Target: "finding:f-1"},
			{Time: at(3 * time.Minute), Actor: "server", Action: "agent.silent", Target: "agent:a1"},
			{Time: at(3 * time.Minute), Actor: "token:7", Action: "user.create", Target: "user:3"},
		}
		for _, e := range entries {
			must(t, db.Audit(ctx, e))
		}
		wantErr(t, "no actor", db.Audit(ctx, AuditEntry{Action: "x"}), ErrInvalid)
		wantErr(t, "bad detail", db.Audit(ctx, AuditEntry{Actor: "a", Action: "x", Detail: json.RawMessage(`{`)}), ErrInvalid)

		p, err := db.ListAudit(ctx, ListOptions{Desc: true})
		must(t, err)
		if len(p.Items) != 4 || p.Items[0].Actor != "token:7" || p.Items[3].Action != "user.create" {
			t.Fatalf("ListAudit desc = %+v", p.Items)
		}
		first := p.Items[3]
		if first.ID == 0 || !first.Time.Equal(at(time.Minute)) || first.Remote != "127.0.0.1" || !jsonEqual(first.Detail, entries[0].Detail) {
			t.Errorf("entry read back as %+v", first)
		}
		for filter, want := range map[string]int{
			"actor=user:alice":                2,
			"action=user.create":              2,
			"target=agent:a1":                 1,
			"since=" + rfc(at(2*time.Minute)): 3,
			"until=" + rfc(at(2*time.Minute)): 1,
			"since=" + rfc(at(2*time.Minute)) + "&until=" + rfc(at(3*time.Minute)): 1,
		} {
			p, err := db.ListAudit(ctx, ListOptions{Filter: parseFilter(filter)})
			must(t, err)
			if len(p.Items) != want {
				t.Errorf("ListAudit(%s): %d entries, want %d", filter, len(p.Items), want)
			}
		}
		_, err = db.ListAudit(ctx, ListOptions{Filter: map[string]string{"since": "yesterday"}})
		wantErr(t, "bad since", err, ErrInvalid)
	})
}

func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

// jsonEqual compares JSON documents by value (PostgreSQL and SQLite may
// keep different spacing).
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}
