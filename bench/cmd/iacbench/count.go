package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// count reads a tool's JSON report and returns its findings and the number
// of distinct files they are in. Suppressed Vigil findings do not count.
func count(tool, path string) (findings, files int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4<<30))
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	switch tool {
	case "vigil":
		var doc struct {
			Findings []struct {
				Location   struct{ File string }
				Suppressed string
			}
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		for _, x := range doc.Findings {
			if x.Suppressed == "" {
				findings++
				seen[x.Location.File] = true
			}
		}
	case "tfsec":
		var doc struct {
			Results []struct {
				Location struct {
					Filename string `json:"filename"`
				} `json:"location"`
			} `json:"results"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		for _, x := range doc.Results {
			findings++
			seen[x.Location.Filename] = true
		}
	case "kics":
		var doc struct {
			Queries []struct {
				Files []struct {
					FileName string `json:"file_name"`
				} `json:"files"`
			} `json:"queries"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		for _, q := range doc.Queries {
			for _, x := range q.Files {
				findings++
				seen[x.FileName] = true
			}
		}
	default:
		return 0, 0, fmt.Errorf("unknown tool %q", tool)
	}
	return findings, len(seen), nil
}
