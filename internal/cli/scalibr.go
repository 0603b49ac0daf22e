package cli

import (
	"context"
	"fmt"
	"log/slog"

	scalibrlog "github.com/google/osv-scalibr/log"
)

// silenceScalibr routes OSV-SCALIBR's package-level logger, which would
// otherwise print to stderr, into the run's logger at debug level: what it
// reports per file already reaches the user as Unknowns in the result.
// SCALIBR offers only this global hook.
func silenceScalibr(l *slog.Logger) { scalibrlog.SetLogger(scalibrLogger{l}) }

type scalibrLogger struct{ l *slog.Logger }

func (s scalibrLogger) log(msg string) {
	s.l.Log(context.Background(), slog.LevelDebug, msg, "component", "scalibr")
}
func (s scalibrLogger) Errorf(format string, args ...any) { s.log(fmt.Sprintf(format, args...)) }
func (s scalibrLogger) Error(args ...any)                 { s.log(fmt.Sprint(args...)) }
func (s scalibrLogger) Warnf(format string, args ...any)  { s.log(fmt.Sprintf(format, args...)) }
func (s scalibrLogger) Warn(args ...any)                  { s.log(fmt.Sprint(args...)) }
func (s scalibrLogger) Infof(format string, args ...any)  { s.log(fmt.Sprintf(format, args...)) }
func (s scalibrLogger) Info(args ...any)                  { s.log(fmt.Sprint(args...)) }
func (s scalibrLogger) Debugf(format string, args ...any) { s.log(fmt.Sprintf(format, args...)) }
func (s scalibrLogger) Debug(args ...any)                 { s.log(fmt.Sprint(args...)) }
