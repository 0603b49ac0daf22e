package store

import (
	"context"
	"fmt"
	"time"
)

// validRole says whether r is one of the roles.
func validRole(r Role) bool {
	return r == RoleAdmin || r == RoleAnalyst || r == RoleReadOnly
}

const userCols = `id, name, role, password_hash, disabled, created_at`

func userDests(u *User) []any {
	return []any{&u.ID, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, timeDest{&u.CreatedAt}}
}

// CreateUser adds a user (ID is assigned; CreatedAt defaults to now). A
// taken name is ErrConflict; an empty name or an unknown role ErrInvalid.
func (db *DB) CreateUser(ctx context.Context, u User) (User, error) {
	if u.Name == "" {
		return User{}, invalidf("user without a name")
	}
	if !validRole(u.Role) {
		return User{}, invalidf("role %q", u.Role)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = time.Now()
	}
	u.CreatedAt = utc(u.CreatedAt)
	err := db.writer().row(ctx, []any{&u.ID},
		`INSERT INTO users (name, role, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		u.Name, string(u.Role), u.PasswordHash, u.Disabled, db.tv(u.CreatedAt))
	if err != nil {
		return User{}, fmt.Errorf("store: create user %q: %w", u.Name, err)
	}
	return u, nil
}

// User returns the user with the id.
func (db *DB) User(ctx context.Context, id int64) (User, error) {
	var u User
	if err := db.reader().row(ctx, userDests(&u), `SELECT `+userCols+` FROM users WHERE id = ?`, id); err != nil {
		return User{}, fmt.Errorf("store: user %d: %w", id, err)
	}
	return u, nil
}

// UserByName returns the user with the name.
func (db *DB) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	if err := db.reader().row(ctx, userDests(&u), `SELECT `+userCols+` FROM users WHERE name = ?`, name); err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", name, err)
	}
	return u, nil
}

var usersList = &listDef{
	tag:   "users",
	sorts: map[string]column{"name": {"name", kString}, "created": {"created_at", kTime}},
	def:   "name",
	ties:  []column{{"id", kInt}},
	filters: map[string]filterFn{
		"name": fExact("name"),
		"role": fEnum("role", string(RoleAdmin), string(RoleAnalyst), string(RoleReadOnly)),
	},
}

// ListUsers lists users. Filters: name (exact), role (enumerated); sorts:
// name (default), created.
func (db *DB) ListUsers(ctx context.Context, o ListOptions) (Page[User], error) {
	return list(ctx, db, usersList, o, query[User]{cols: userCols, from: "users", dests: userDests}, nil)
}

// UpdateUser writes Role, PasswordHash and Disabled of u.ID.
func (db *DB) UpdateUser(ctx context.Context, u User) error {
	if !validRole(u.Role) {
		return invalidf("role %q", u.Role)
	}
	res, err := db.writer().exec(ctx, `UPDATE users SET role = ?, password_hash = ?, disabled = ? WHERE id = ?`,
		string(u.Role), u.PasswordHash, u.Disabled, u.ID)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: update user %d: %w", u.ID, err)
	}
	return nil
}

// DeleteUser deletes a user and its tokens.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	res, err := db.writer().exec(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err := affected(res, err); err != nil {
		return fmt.Errorf("store: delete user %d: %w", id, err)
	}
	return nil
}

// CountUsers counts the users.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.reader().row(ctx, []any{&n}, `SELECT COUNT(*) FROM users`); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// affected turns an update of no row into ErrNotFound.
func affected(res interface{ RowsAffected() (int64, error) }, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
