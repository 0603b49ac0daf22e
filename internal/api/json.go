package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
)

// maxBody bounds every request body.
const maxBody = 1 << 20

// decode reads one JSON value from the request body into v: at most
// maxBody bytes, application/json (or no content type), no unknown
// fields, nothing after the value.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeLimit(w, r, v, maxBody)
}

// decodeLimit is decode with another bound, for the routes whose bodies
// are data rather than commands (scan uploads).
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errorf(http.StatusUnsupportedMediaType, codeMediaType, "request body must be application/json")
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return decodeJSON(r.Body, v)
}

// decodeJSON is decode's strict reading of a body.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return errorf(http.StatusBadRequest, codeInvalidJSON, "request body is empty")
		}
		return errorf(http.StatusBadRequest, codeInvalidJSON, "request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return errorf(http.StatusBadRequest, codeInvalidJSON, "request body: data after the JSON value")
	}
	return nil
}

// writeJSON writes v with status. API responses are never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// noContent answers 204.
func noContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
