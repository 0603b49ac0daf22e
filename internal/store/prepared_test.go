package store

import (
	"testing"
)

// TestHotStatements: the statements prepared when an SQLite store opens
// are the ones its ingest runs, and a transaction uses them.
func TestHotStatements(t *testing.T) {
	db := openTest(t, dialectSQLite)
	up := upsertAssetSQL(false)
	for _, q := range []string{up.update, up.insert, liveAssetsQuery, assetExistsQuery} {
		if db.hot[q] == nil {
			t.Errorf("not prepared: %.60q", q)
		}
	}
	err := db.tx(ctx, func(c conn) error {
		st := c.prepared(ctx, liveAssetsQuery)
		if st == nil {
			t.Error("a transaction does not use the prepared statement")
		} else {
			st.Close()
		}
		if c.prepared(ctx, `SELECT 1`) != nil {
			t.Error("an unprepared statement has a prepared one")
		}
		return nil
	})
	must(t, err)
	if (conn{db, db.r}).prepared(ctx, liveAssetsQuery) != nil {
		t.Error("the read pool uses the write connection's statement")
	}
	// Ingest through them: insert, unchanged update, changed update, gone.
	newAgent(t, db, "a1")
	for i, name := range []string{"web-1", "web-1", "web-2"} {
		ingestAt(t, db, "a1", uint64(i+1), func(in Ingester) error {
			if err := in.UpsertAsset(ctx, Asset{ID: "c1", Kind: AssetContainer, Name: name, AgentID: "a1"}); err != nil {
				return err
			}
			return in.MarkGone(ctx, "a1", AssetContainer, nil)
		})
		a, err := db.Asset(ctx, "c1")
		must(t, err)
		if a.Name != name || !a.Gone {
			t.Errorf("after upsert %d: name %q gone %v, want %q gone", i, a.Name, a.Gone, name)
		}
	}
}
