package cloudformation

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-sec/vigil/internal/iac"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func get(v any, path string) (any, bool) {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

type absentT struct{}

var absent = absentT{}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", file, diff)
	}
}

type want struct {
	typ      string
	provider string
	attrs    map[string]any
	refs     map[string][]string
	lines    map[string]iac.Range
	rng      iac.Range
}

func TestParse(t *testing.T) {
	tests := []struct {
		file      string
		opts      Options
		resources map[string]want
	}{{
		file: "template.yaml",
		resources: map[string]want{
			"LogsBucket": {
				typ: "AWS::S3::Bucket", provider: "aws",
				attrs: map[string]any{
					"BucketName":                     "acme-logs-prod",
					"VersioningConfiguration.Status": "Enabled",
					"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "RestrictPublicBuckets": true},
					"BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault": map[string]any{},
					"Tags.0.Value": "prod",
					"Tags.1":       map[string]any{"Key": "region"},
					"Tags.2.Value": "365d",
				},
				lines: map[string]iac.Range{
					"BucketName": {StartLine: 41, EndLine: 41},
					"BucketEncryption.ServerSideEncryptionConfiguration.0": {StartLine: 46, EndLine: 48},
					"BucketName.0": {StartLine: 41, EndLine: 41}, // falls back to the parent
				},
				rng: iac.Range{StartLine: 37, EndLine: 58},
			},
			"LogsPolicy": {
				typ: "AWS::S3::BucketPolicy", provider: "aws",
				attrs: map[string]any{
					"Bucket":                               absent,
					"PolicyDocument.Statement.0.Principal": "*",
					"PolicyDocument.Statement.0.Resource":  absent,
				},
				refs:  map[string][]string{"Bucket": {"LogsBucket"}, "PolicyDocument.Statement.0.Resource": {"LogsBucket"}},
				lines: map[string]iac.Range{"Bucket": {StartLine: 63, EndLine: 63}},
			},
			"Writer": {
				typ: "AWS::Lambda::Function", provider: "aws",
				attrs: map[string]any{
					"Environment.Variables": map[string]any{"FIRST_SUBNET": "subnet-a", "SECOND": "b"},
					"VpcConfig.SubnetIds":   []any{"subnet-a", "subnet-b"},
					"ImageUri":              absent, // an SSM parameter's default is a name, not a value
					"Code.ZipFile":          "def handler(event, context):\n    return \"ok\"\n",
				},
				refs: map[string][]string{"Role": {"WriterRole"}, "Environment.Variables.BUCKET": {"LogsBucket"}},
			},
			"WriterRole": {typ: "AWS::IAM::Role", provider: "aws", attrs: map[string]any{"AssumeRolePolicyDocument.Statement.0.Principal.Service": "lambda.amazonaws.com"}},
		},
	}, {
		file: "template.yaml",
		opts: Options{Params: map[string]string{"Env": "dev", "KmsKeyArn": "arn:aws:kms:eu-west-1:1:key/k", "AWS::Region": "eu-west-1"}},
		resources: map[string]want{
			"LogsBucket": {
				typ: "AWS::S3::Bucket", provider: "aws",
				attrs: map[string]any{
					"BucketName":                     "acme-logs-dev",
					"VersioningConfiguration.Status": "Suspended",
					"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": false, "RestrictPublicBuckets": false},
					"BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault": map[string]any{
						"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "arn:aws:kms:eu-west-1:1:key/k",
					},
					"Tags.1.Value": "eu-west-1",
					"Tags.2.Value": "7d",
				},
			},
			"LogsPolicy": {typ: "AWS::S3::BucketPolicy", provider: "aws", refs: map[string][]string{"Bucket": {"LogsBucket"}, "PolicyDocument.Statement.0.Resource": {"LogsBucket"}}},
			"Writer":     {typ: "AWS::Lambda::Function", provider: "aws", refs: map[string][]string{"Role": {"WriterRole"}, "Environment.Variables.BUCKET": {"LogsBucket"}}},
			"WriterRole": {typ: "AWS::IAM::Role", provider: "aws"},
		},
	}, {
		file: "template.json",
		resources: map[string]want{
			"Vpc": {typ: "AWS::EC2::VPC", provider: "aws", attrs: map[string]any{"CidrBlock": "10.0.0.0/16"}, rng: iac.Range{StartLine: 13, EndLine: 13}},
			"WebSg": {
				typ: "AWS::EC2::SecurityGroup", provider: "aws",
				attrs: map[string]any{
					"GroupDescription": "web dev",
					// The IsProd rule is dropped (AWS::NoValue), the Loop
					// one (a condition defined by itself) is unknown.
					"SecurityGroupIngress": []any{
						map[string]any{"IpProtocol": "tcp", "FromPort": "22", "ToPort": "22", "CidrIp": "0.0.0.0/0"},
						nil,
					},
					"Tags.0": map[string]any{"Key": "region"},
				},
				refs:  map[string][]string{"VpcId": {"Vpc"}},
				lines: map[string]iac.Range{"SecurityGroupIngress.0.CidrIp": {StartLine: 24, EndLine: 24}},
			},
			"Queue": {typ: "AWS::SQS::Queue", provider: "aws", attrs: map[string]any{}},
		},
	}, {
		file: "ros.yaml",
		resources: map[string]want{
			"Bucket": {
				typ: "ALIYUN::OSS::Bucket", provider: "alicloud",
				attrs: map[string]any{"AccessControl": "public-read", "BucketName": absent, "Tags": absent},
			},
		},
	}, {
		file: "sam.yaml",
		resources: map[string]want{
			"Api": {
				typ: "AWS::Serverless::Function", provider: "aws",
				attrs: map[string]any{
					"Environment.Variables": map[string]any{"LITERAL": "${NotAVar}-x", "B64": "ZWNobyBoaQ=="},
				},
				refs: map[string][]string{"Environment.Variables.TABLE": {"Table"}},
			},
			"Table": {typ: "AWS::DynamoDB::Table", provider: "aws", attrs: map[string]any{}},
		},
	}}
	for _, tt := range tests {
		name := tt.file
		if tt.opts.Params != nil {
			name += "/params"
		}
		t.Run(name, func(t *testing.T) {
			rs, err := Parse(tt.file, readFixture(t, tt.file), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(tt.resources) {
				t.Errorf("got %d resources, want %d", len(rs), len(tt.resources))
			}
			for i := 1; i < len(rs); i++ {
				if rs[i-1].Address >= rs[i].Address {
					t.Errorf("resources not sorted: %s before %s", rs[i-1].Address, rs[i].Address)
				}
			}
			for _, r := range rs {
				w, ok := tt.resources[r.Address]
				if !ok {
					t.Errorf("unexpected resource %s", r.Address)
					continue
				}
				if r.Source != iac.SourceCloudFormation || r.Type != w.typ || r.Provider != w.provider || r.Location.File != tt.file {
					t.Errorf("%s: header = %s %s %s %s", r.Address, r.Source, r.Type, r.Provider, r.Location.File)
				}
				if w.rng != (iac.Range{}) && r.Location.Range != w.rng {
					t.Errorf("%s: range = %v, want %v", r.Address, r.Location.Range, w.rng)
				}
				for path, wv := range w.attrs {
					got, ok := get(r.Attrs, path)
					if wv == absent {
						if ok {
							t.Errorf("%s: %s = %#v, want absent", r.Address, path, got)
						}
						continue
					}
					if !ok {
						t.Errorf("%s: %s absent, want %#v", r.Address, path, wv)
					} else if diff := cmp.Diff(wv, got); diff != "" {
						t.Errorf("%s: %s (-want +got):\n%s", r.Address, path, diff)
					}
				}
				if w.refs != nil || r.Refs != nil {
					if diff := cmp.Diff(w.refs, r.Refs); diff != "" {
						t.Errorf("%s: refs (-want +got):\n%s", r.Address, diff)
					}
				}
				for p, rg := range w.lines {
					if got := r.Line(p); got != rg {
						t.Errorf("%s: Line(%q) = %v, want %v", r.Address, p, got, rg)
					}
				}
			}
			if tt.opts.Params == nil {
				golden(t, tt.file+".golden", rs)
			}
		})
	}
}

func TestParseIgnored(t *testing.T) {
	tests := map[string]string{
		"deployment.yaml":         string(readFixture(t, "deployment.yaml")),
		"broken-unversioned.yaml": string(readFixture(t, "broken-unversioned.yaml")),
		"plain":                   "name: app\nitems: [1, 2]\n",
		"list":                    "- AWS::S3::Bucket\n",
		"resourcesNoAWS":          "Resources:\n  X:\n    Type: Custom::Thing\n    Note: AWS::\n",
		"json":                    `{"Type": "AWS::S3::Bucket"}`,
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			rs, err := Parse(name, []byte(src), Options{})
			if err != nil || len(rs) != 0 {
				t.Errorf("got %v, %v; want nothing", rs, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		file string
		is   error
	}{
		{"broken.yaml", nil},
		{"bomb.yaml", iac.ErrAliasBomb},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Parse(tt.file, readFixture(t, tt.file), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestShortForm(t *testing.T) {
	tests := []struct {
		tag  string
		in   any
		want any
	}{
		{"!Ref", "X", map[string]any{"Ref": "X"}},
		{"!GetAtt", "Res.Arn", map[string]any{"Fn::GetAtt": []any{"Res", "Arn"}}},
		{"!GetAtt", "Res.Endpoint.Address", map[string]any{"Fn::GetAtt": []any{"Res", "Endpoint.Address"}}},
		{"!GetAtt", []any{"Res", "Arn"}, map[string]any{"Fn::GetAtt": []any{"Res", "Arn"}}},
		{"!Condition", "C", map[string]any{"Condition": "C"}},
		{"!Sub", "x", map[string]any{"Fn::Sub": "x"}},
		{"!ImportValue", "x", map[string]any{"Fn::ImportValue": "x"}},
		{"!", "x", "x"},
		{"tag:example.com,2000:app/foo", "x", "x"},
		{"!<weird>", "x", "x"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, shortForm(tt.tag, tt.in)); diff != "" {
			t.Errorf("shortForm(%q, %v) (-want +got):\n%s", tt.tag, tt.in, diff)
		}
	}
}

func TestConditions(t *testing.T) {
	src := `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Known: {Type: String, Default: a}
  Unknown: {Type: String}
  Flag: {Type: String, Default: "true"}
Conditions:
  T: !Equals [!Ref Known, a]
  F: !Equals [!Ref Known, b]
  U: !Equals [!Ref Unknown, a]
  OrTU: !Or [!Condition T, !Condition U]
  AndFU: !And [!Condition F, !Condition U]
  AndTU: !And [!Condition T, !Condition U]
  NotU: !Not [!Condition U]
  NumEq: !Equals [1, "1"]
  A: !Condition B
  B: !Condition A
Resources:
  R:
    Type: AWS::SNS::Topic
    Properties:
      OrTU: !If [OrTU, yes, no]
      AndFU: !If [AndFU, yes, no]
      AndTU: !If [AndTU, yes, no]
      NotU: !If [NotU, yes, no]
      NumEq: !If [NumEq, yes, no]
      Cycle: !If [A, yes, no]
      Missing: !If [Nope, yes, no]
      List: [a, !If [U, b, c], !If [F, d, !Ref AWS::NoValue], e]
`
	rs, err := Parse("t.yaml", []byte(src), Options{})
	if err != nil || len(rs) != 1 {
		t.Fatalf("got %v, %v", rs, err)
	}
	want := map[string]any{"OrTU": "yes", "AndFU": "no", "NumEq": "yes", "List": []any{"a", nil, "e"}}
	if diff := cmp.Diff(want, rs[0].Attrs); diff != "" {
		t.Errorf("attrs (-want +got):\n%s", diff)
	}
}

func input(t *testing.T) *iac.Input {
	t.Helper()
	fsys := os.DirFS("testdata")
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return &iac.Input{FS: fsys, Files: files, MaxFileSize: iac.DefaultMaxFileSize}
}

func TestLoader(t *testing.T) {
	var l iac.Loader = New()
	if l.Name() != "cloudformation" {
		t.Errorf("Name = %q", l.Name())
	}
	rs, errs := l.Load(context.Background(), input(t))
	var got []string
	for _, r := range rs {
		got = append(got, r.Location.File+" "+r.Address)
	}
	want := []string{
		"ros.yaml Bucket",
		"sam.yaml Api",
		"sam.yaml Table",
		"template.json Queue",
		"template.json Vpc",
		"template.json WebSg",
		"template.yaml LogsBucket",
		"template.yaml LogsPolicy",
		"template.yaml Writer",
		"template.yaml WriterRole",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	var errFiles []string
	for _, e := range errs {
		errFiles = append(errFiles, e.File)
	}
	if diff := cmp.Diff([]string{"bomb.yaml", "broken.yaml"}, errFiles); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLoaderCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rs, errs := New().Load(ctx, input(t))
	if len(rs) != 0 || len(errs) != 0 {
		t.Errorf("cancelled load gave %d resources, %d errors", len(rs), len(errs))
	}
}
