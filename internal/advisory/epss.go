package advisory

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseEPSS reads FIRST's EPSS scores CSV (epss_scores-YYYY-MM-DD.csv, or
// the same gzip-compressed; gzip is recognised by its magic bytes) and calls
// fn once per row, in file order:
//
//	#model_version:v2023.03.01,score_date:2023-04-01T00:00:00+0000
//	cve,epss,percentile
//	CVE-1999-0001,0.01054,0.82507
//
// Date is the comment line's score_date (zero when there is none); columns
// are found by the header's names, so files without percentile load too.
// A malformed row (bad CVE, score outside [0,1]) fails the parse with
// ErrFormat, as does a missing header: a damaged score file should not be
// half-loaded. Lines are bounded to 1 MiB and decompressed input to 256 MiB.
// fn's error stops the parse and is returned.
func ParseEPSS(r io.Reader, fn func(EPSS) error) error {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("parse epss: %w: %w", ErrFormat, err)
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	lr := &io.LimitedReader{R: r, N: maxFeed + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		date       time.Time
		cveCol     = -1
		scoreCol   = -1
		pctCol     = -1
		haveHeader bool
		lineNo     int
	)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("parse epss: line %d: %w: %s", lineNo, ErrFormat, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" {
			continue
		}
		if line[0] == '#' {
			d, err := epssCommentDate(line[1:])
			if err != nil {
				return fail("%v", err)
			}
			if !d.IsZero() {
				date = d
			}
			continue
		}
		fields := strings.Split(line, ",")
		for i, f := range fields {
			fields[i] = strings.Trim(strings.TrimSpace(f), `"`)
		}
		if !haveHeader {
			for i, f := range fields {
				switch strings.ToLower(f) {
				case "cve":
					cveCol = i
				case "epss":
					scoreCol = i
				case "percentile":
					pctCol = i
				}
			}
			if cveCol < 0 || scoreCol < 0 {
				return fail("header %q lacks the cve and epss columns", clip(line))
			}
			haveHeader = true
			continue
		}
		if len(fields) <= max(cveCol, scoreCol, pctCol) {
			return fail("%d fields, want %d", len(fields), max(cveCol, scoreCol, pctCol)+1)
		}
		e := EPSS{CVE: strings.ToUpper(fields[cveCol]), Date: date}
		if !isCVE(e.CVE) {
			return fail("bad CVE %q", clip(fields[cveCol]))
		}
		var err error
		if e.Score, err = parseUnit(fields[scoreCol]); err != nil {
			return fail("epss: %v", err)
		}
		if pctCol >= 0 {
			if e.Percentile, err = parseUnit(fields[pctCol]); err != nil {
				return fail("percentile: %v", err)
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("parse epss: line %d: %w: longer than %d bytes", lineNo+1, ErrTooLarge, maxLine)
		}
		return fmt.Errorf("parse epss: %w", err)
	}
	if lr.N <= 0 {
		return fmt.Errorf("parse epss: %w: more than %d bytes", ErrTooLarge, maxFeed)
	}
	if !haveHeader {
		return fmt.Errorf("parse epss: %w: no header line", ErrFormat)
	}
	return nil
}

// epssCommentDate reads score_date from "model_version:...,score_date:...".
func epssCommentDate(comment string) (time.Time, error) {
	for _, kv := range strings.Split(comment, ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || strings.TrimSpace(k) != "score_date" {
			continue
		}
		v = strings.TrimSpace(v)
		for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("bad score_date %q", clip(v))
	}
	return time.Time{}, nil
}

// parseUnit parses a probability in [0,1].
func parseUnit(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", clip(s))
	}
	if math.IsNaN(f) || f < 0 || f > 1 {
		return 0, fmt.Errorf("%q outside [0,1]", clip(s))
	}
	return f, nil
}

// isCVE reports whether s looks like CVE-YYYY-NNNN (four or more digits).
func isCVE(s string) bool {
	rest, ok := strings.CutPrefix(s, "CVE-")
	if !ok || len(rest) < 9 || rest[4] != '-' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if i != 4 && (rest[i] < '0' || rest[i] > '9') {
			return false
		}
	}
	return true
}
