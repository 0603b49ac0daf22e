// Package cloudmeta tells which cloud, if any, the host runs in, and who it
// is there: instance ID, region, zone, account or project, instance type
// and private addresses.
//
// Detection is local first. Detect reads the DMI strings the firmware
// exposes under /sys/class/dmi/id and maps them to a provider (AWS, Alibaba
// Cloud, Tencent Cloud, Google Cloud, Azure, Huawei Cloud). Only when that
// evidence names a cloud does it ask that one cloud's instance metadata
// service, with a short deadline, bounded responses, no proxy and no
// redirects. A host whose firmware names no cloud causes no network traffic
// at all; an unreachable metadata service is reported in Identity.Note, not
// as an error.
//
// The agent imports it; it imports nothing of Vigil and no cloud SDK.
package cloudmeta
