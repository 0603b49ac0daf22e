package console

import (
	"fmt"
	"strconv"
	"strings"
)

// lang is a console language: a BCP 47 tag the catalogs exist for.
type lang string

// The languages.
const (
	langEN lang = "en"
	langZH lang = "zh-CN"
)

// langs lists the languages in the order the switcher offers them.
var langs = []lang{langEN, langZH}

// catalogs holds every UI string by language. Format strings use fmt
// verbs; both catalogs have the same keys (tested).
var catalogs = map[lang]map[string]string{langEN: catalogEN, langZH: catalogZH}

// parseLang reads a language cookie or form value; ok is false for
// anything but a supported tag.
func parseLang(s string) (lang, bool) {
	for _, l := range langs {
		if strings.EqualFold(s, string(l)) {
			return l, true
		}
	}
	return "", false
}

// maxAcceptLanguage bounds the header negotiate reads.
const maxAcceptLanguage = 1024

// negotiate picks the language of an Accept-Language header: the
// supported language with the highest weight (any "zh" variant is
// Simplified Chinese), English by default.
func negotiate(header string) lang {
	if len(header) > maxAcceptLanguage {
		header = header[:maxAcceptLanguage]
	}
	best, bestQ := langEN, -1.0
	for i, part := range strings.Split(header, ",") {
		if i >= 32 {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		q := 1.0
		if p, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || v < 0 || v > 1 {
				continue
			}
			q = v
		}
		if q == 0 {
			continue
		}
		var l lang
		primary, _, _ := strings.Cut(tag, "-")
		switch primary {
		case "zh":
			l = langZH
		case "en":
			l = langEN
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// t translates key, formatting args into it. A missing key renders as
// the key itself, marked, so that it is seen (tests forbid it).
func (l lang) t(key string, args ...any) string {
	s, ok := catalogs[l][key]
	if !ok {
		s, ok = catalogEN[key]
	}
	if !ok {
		return "¿" + key + "?"
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// has reports whether the catalogs have key.
func has(key string) bool {
	_, ok := catalogEN[key]
	return ok
}

// label translates an enumerated value (a severity, status, kind...)
// under prefix, or shows the value itself when the catalogs do not know
// it (data may carry values newer than the console).
func (l lang) label(prefix, value string) string {
	if value == "" {
		return ""
	}
	if k := prefix + "." + value; has(k) {
		return l.t(k)
	}
	return value
}
