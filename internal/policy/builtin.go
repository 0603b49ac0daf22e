package policy

import (
	"embed"
	"io/fs"
)

//go:embed rules
var builtinFS embed.FS

// Builtin returns Vigil's built-in rule library (rules/ in this package).
func Builtin() ([]Rule, error) {
	sub, err := fs.Sub(builtinFS, "rules")
	if err != nil {
		return nil, err
	}
	return LoadDir(sub, ".")
}
