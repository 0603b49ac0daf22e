package secret

import (
	"bytes"
	"strings"
)

// ignoreDirective, followed by a rule ID or a fingerprint and a reason, in
// a comment of any syntax, suppresses the matching findings on its own line
// and on the next one:
//
//	password = "hunter2-but-long" # vigil:ignore generic-password test fixture
//	// vigil:ignore 3f2a…e1 rotated in 2024, kept for the migration test
//
// A directive without a reason suppresses nothing: the finding stays
// unsuppressed, so that a bare directive shows up in review.
const ignoreDirective = "vigil:ignore"

// maxReason bounds the reason copied into a Finding.
const maxReason = 200

// commentClosers end a reason early.
var commentClosers = []string{"*/", "-->", "#}", "%>", "--%>"}

// inlineIgnore looks for a directive matching ruleID or fp on the line that
// starts at lineStart and on the line before it, and returns its reason.
func inlineIgnore(data []byte, lineStart int, ruleID, fp string) (string, bool) {
	if reason, ok := directiveIn(lineOf(data, lineStart), ruleID, fp); ok {
		return reason, true
	}
	if lineStart == 0 {
		return "", false
	}
	prev := bytes.LastIndexByte(data[:lineStart-1], '\n') + 1
	return directiveIn(lineOf(data, prev), ruleID, fp)
}

func lineOf(data []byte, start int) []byte {
	if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
		return data[start : start+i]
	}
	return data[start:]
}

// directiveIn returns the reason of the first directive in line naming
// ruleID or fp and giving a reason.
func directiveIn(line []byte, ruleID, fp string) (string, bool) {
	for {
		i := bytes.Index(line, []byte(ignoreDirective))
		if i < 0 {
			return "", false
		}
		line = line[i+len(ignoreDirective):]
		rest := string(line)
		if rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		rest = strings.TrimLeft(rest, " \t")
		target, reason, _ := strings.Cut(rest, " ")
		if target != ruleID && !strings.EqualFold(target, fp) {
			continue
		}
		for _, c := range commentClosers {
			if j := strings.Index(reason, c); j >= 0 {
				reason = reason[:j]
			}
		}
		if j := strings.Index(reason, ignoreDirective); j >= 0 {
			reason = reason[:j]
		}
		reason = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(reason), "\r"))
		if len(reason) > maxReason {
			reason = reason[:maxReason]
		}
		reason = strings.ToValidUTF8(reason, "?")
		if reason == "" {
			continue // no reason, no suppression
		}
		return reason, true
	}
}
