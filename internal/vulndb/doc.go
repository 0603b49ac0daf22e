// Package vulndb is Vigil's local vulnerability database: one SQLite file
// (docs/formats/vulndb.md) holding normalised advisories from every source
// (OSV, Debian, Alpine), EPSS scores and the CISA KEV catalogue, built once
// by a Builder and then opened read-only for matching.
//
// It owns the file's schema, its build (one transaction, then an atomic
// rename, so a failed build never touches the database already in place)
// and the indexed lookups the matcher needs: a *DB is a vuln.Source. It
// parses no feed formats (package advisory does) and downloads nothing
// (package feed does); it does not log.
//
// Imported by the CLI (`vigil db update` builds, scans open) and by whatever
// wires a vuln matcher; the matcher itself sees only vuln.Source.
//
// # Use
//
//	b, err := vulndb.NewBuilder(path)
//	...
//	defer b.Abort() // no-op after a successful Finish
//	for _, a := range advisories {
//		if err := b.AddAdvisory(a); err != nil { ... }
//	}
//	meta, err := b.Finish(time.Now())
//
//	db, err := vulndb.Open(path)
//	defer db.Close()
//	advs, err := db.Affected(ctx, "Debian:11", "openssl")
package vulndb
