package cloudmeta

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultDMIDir is where Linux exposes the firmware's DMI strings.
const DefaultDMIDir = "/sys/class/dmi/id"

// dmiFiles are the DMI attributes read as evidence. product_uuid and
// product_serial are readable by root only; they are skipped otherwise.
var dmiFiles = []string{
	"sys_vendor", "product_name", "product_version", "product_uuid", "product_serial",
	"bios_vendor", "bios_version", "board_vendor", "chassis_vendor", "chassis_asset_tag",
}

// maxDMIValue bounds how much of one DMI file is read.
const maxDMIValue = 256

// azureAssetTag is the chassis asset tag of every Azure virtual machine; it
// tells Azure apart from Hyper-V on premises, whose vendor strings are the
// same.
const azureAssetTag = "7783-7084-3265-9085-8269-3286-77"

type matchKind int

const (
	equals matchKind = iota
	contains
	hasPrefix
)

// clue is one DMI fact pointing at a provider. A provider is chosen only on
// decisive clues; the others are reported as evidence alongside them.
type clue struct {
	provider Provider
	file     string
	how      matchKind
	want     string // lower case
	decisive bool
}

// clues maps firmware strings to clouds. Comparisons ignore case and
// surrounding space.
var clues = []clue{
	{AWS, "sys_vendor", equals, "amazon ec2", true},
	{AWS, "board_vendor", equals, "amazon ec2", true},
	{AWS, "bios_vendor", equals, "amazon ec2", true},
	{AWS, "chassis_vendor", equals, "amazon ec2", true},
	// Xen-based EC2 instances: vendor "Xen", BIOS version "4.11.amazon".
	{AWS, "bios_version", contains, "amazon", true},
	{AWS, "product_version", contains, "amazon", true},
	// Xen instances' UUIDs start with "ec2", but so does one random UUID in
	// 4096: supporting evidence only.
	{AWS, "product_uuid", hasPrefix, "ec2", false},
	{AWS, "product_serial", hasPrefix, "ec2", false},

	{Alibaba, "sys_vendor", equals, "alibaba cloud", true},
	{Alibaba, "product_name", equals, "alibaba cloud ecs", true},

	{Tencent, "sys_vendor", equals, "tencent cloud", true},
	{Tencent, "product_name", equals, "cvm", false},

	{GCP, "sys_vendor", equals, "google", true},
	{GCP, "product_name", equals, "google compute engine", true},
	{GCP, "bios_vendor", equals, "google", true},
	{GCP, "board_vendor", equals, "google", true},

	{Azure, "chassis_asset_tag", equals, azureAssetTag, true},
	{Azure, "sys_vendor", equals, "microsoft corporation", false},
	{Azure, "product_name", equals, "virtual machine", false},

	{Huawei, "chassis_asset_tag", equals, "huaweicloud", true},
	{Huawei, "sys_vendor", equals, "openstack foundation", false},
	{Huawei, "product_name", equals, "openstack nova", false},
}

func (c clue) matches(v string) bool {
	v = strings.ToLower(v)
	switch c.how {
	case equals:
		return v == c.want
	case contains:
		return strings.Contains(v, c.want)
	default:
		return strings.HasPrefix(v, c.want)
	}
}

// classify picks the provider with the most decisive clues among facts
// (DMI attribute → value), the earliest in providers on a tie, and returns
// the matching clues of that provider as "attribute=value" strings. None
// and no evidence when nothing decisive matches.
func classify(facts map[string]string) (Provider, []string) {
	best, bestScore := None, 0
	for _, p := range providers {
		score := 0
		for _, c := range clues {
			if c.provider == p && c.decisive && c.matches(facts[c.file]) {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = p, score
		}
	}
	if best == None {
		return None, nil
	}
	var ev []string
	for _, c := range clues {
		if c.provider == best && c.matches(facts[c.file]) {
			ev = append(ev, c.file+"="+facts[c.file])
		}
	}
	return best, ev
}

// readDMI reads the DMI attributes of dir. Missing and unreadable files are
// skipped (a container may hide them; serials need root); a missing dir
// gives no facts.
func readDMI(dir string) (map[string]string, error) {
	facts := make(map[string]string)
	for _, name := range dmiFiles {
		v, err := readValue(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read DMI: %w", err)
		}
		if v != "" {
			facts[name] = v
		}
	}
	return facts, nil
}

// readValue reads at most maxDMIValue bytes of path as one cleaned string.
func readValue(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDMIValue))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return clean(string(b)), nil
}
