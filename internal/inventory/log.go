package inventory

import (
	"context"
	"fmt"
	"log/slog"

	scalibrlog "github.com/google/osv-scalibr/log"
)

// RouteExtractorLog sends what the extractors log themselves into l at
// debug level, component "scalibr". Left alone, OSV-SCALIBR prints to
// stderr through the standard logger: a line per unreadable or malformed
// file, thousands on a large host, in every agent's and server's log. What
// those lines report reaches the caller already, as Unknowns in the
// Result. SCALIBR offers only this global hook, so the last call wins.
func RouteExtractorLog(l *slog.Logger) { scalibrlog.SetLogger(extractorLog{l}) }

type extractorLog struct{ l *slog.Logger }

func (s extractorLog) log(msg string) {
	s.l.Log(context.Background(), slog.LevelDebug, msg, "component", "scalibr")
}
func (s extractorLog) Errorf(format string, args ...any) { s.log(fmt.Sprintf(format, args...)) }
func (s extractorLog) Error(args ...any)                 { s.log(fmt.Sprint(args...)) }
func (s extractorLog) Warnf(format string, args ...any)  { s.log(fmt.Sprintf(format, args...)) }
func (s extractorLog) Warn(args ...any)                  { s.log(fmt.Sprint(args...)) }
func (s extractorLog) Infof(format string, args ...any)  { s.log(fmt.Sprintf(format, args...)) }
func (s extractorLog) Info(args ...any)                  { s.log(fmt.Sprint(args...)) }
func (s extractorLog) Debugf(format string, args ...any) { s.log(fmt.Sprintf(format, args...)) }
func (s extractorLog) Debug(args ...any)                 { s.log(fmt.Sprint(args...)) }
