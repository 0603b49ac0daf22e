package detect

import (
	"embed"
	"io/fs"
)

//go:embed rules
var builtinFS embed.FS

// Builtin returns Vigil's built-in rule library (rules/ in this package):
// its lists, macros and rules.
func Builtin() (*Ruleset, error) {
	sub, err := fs.Sub(builtinFS, "rules")
	if err != nil {
		return nil, err
	}
	return Load(sub, ".")
}
