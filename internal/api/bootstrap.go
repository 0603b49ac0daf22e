package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/store"
)

// EnsureAdmin creates the first admin, named name with password, when the
// store has no user at all; created says whether it did. The password
// must meet the policy. Another process creating a user first is not an
// error: created is false.
func EnsureAdmin(ctx context.Context, st store.Store, name, password string) (created bool, err error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if !nameRE.MatchString(name) {
		return false, fmt.Errorf("admin name %q: 1-64 letters, digits, '.', '_', '@' or '-'", name)
	}
	if err := auth.CheckPassword(password); err != nil {
		return false, fmt.Errorf("admin password: %w", err)
	}
	hash, err := auth.NewHasher(nil).Hash(ctx, password)
	if err != nil {
		return false, err
	}
	u, err := st.CreateUser(ctx, store.User{Name: name, Role: store.RoleAdmin, PasswordHash: hash, CreatedAt: time.Now()})
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create admin: %w", err)
	}
	detail, _ := json.Marshal(map[string]any{"name": u.Name, "role": u.Role, "bootstrap": true})
	if err := st.Audit(ctx, store.AuditEntry{
		Time: time.Now(), Actor: "server", Action: actUserCreate, Target: userTarget(u.ID), Detail: detail,
	}); err != nil {
		return true, fmt.Errorf("audit admin creation: %w", err)
	}
	return true, nil
}
