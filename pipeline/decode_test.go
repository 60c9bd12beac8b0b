package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/streamhunt/streamhunt/internal/metrics"
	"github.com/streamhunt/streamhunt/internal/table"
)

// needAll asks for every column of every table.
func needAll() Need {
	n := Need{}
	for _, t := range table.Tables() {
		n[t] = allOrdinals(t)
	}
	return n
}

func allOrdinals(t *table.Table) []int {
	o := make([]int, len(t.Columns))
	for i := range o {
		o[i] = i
	}
	return o
}

// needCols asks for the named columns of one table.
func needCols(t *table.Table, names ...string) []int {
	var o []int
	for _, n := range names {
		i, ok := t.Index(n)
		if !ok {
			panic("no column " + n)
		}
		o = append(o, i)
	}
	return o
}

type decodedRow struct {
	rec   Record
	table string
	vals  map[string]table.Value
}

type decoded struct {
	rows []decodedRow
	res  DecodeResult
}

// row returns the row of the table made from the record with the id.
func (dc decoded) row(t *testing.T, tableName, recordID string) map[string]table.Value {
	t.Helper()
	for _, r := range dc.rows {
		if r.table == tableName && r.rec.RecordID == recordID {
			return r.vals
		}
	}
	t.Fatalf("no %s row for record %s; rows: %d, result %+v", tableName, recordID, len(dc.rows), dc.res)
	return nil
}

func decodeWith(t *testing.T, d *Decoder, body []byte, src Source) decoded {
	t.Helper()
	var dc decoded
	res, err := d.Decode(body, src, func(rec *Record, row *table.Row) error {
		vals := map[string]table.Value{}
		for i, c := range row.Table.Columns {
			vals[c.Name] = row.Vals[i]
		}
		r := *rec
		r.Raw = append([]byte(nil), rec.Raw...)
		dc.rows = append(dc.rows, decodedRow{rec: r, table: row.Table.Name, vals: vals})
		return nil
	})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	dc.res = res
	return dc
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ts(s string) table.Value {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return table.DateTimeNanos(t.UnixNano())
}

// Field report 24 (elastic/integrations#20287): the event time is properties.createdDateTime, while TimeGenerated keeps the later top-level time as Sentinel does.
func TestDecodeDerivesEveryRuleOfTheMappingFromOneRecord(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	enq := time.Date(2025, 3, 4, 10, 16, 0, 0, time.UTC)
	dc := decodeWith(t, d, fixture(t, "signin-devicecode-unmanaged.json"), Source{EventHub: "insights-logs-signinlogs", Partition: "0", EnqueuedTime: enq})
	if len(dc.res.DeadLetters) != 0 || dc.res.Records != 1 {
		t.Fatalf("result %+v", dc.res)
	}
	const id = "1d2e3f40-5a6b-4c7d-8e9f-0a1b2c3d4e00"
	sl := dc.row(t, "SigninLogs", id)
	beta := dc.row(t, "AADSignInEventsBeta", id)
	entra := dc.row(t, "EntraIdSignInEvents", id)
	tests := []struct {
		name string
		row  map[string]table.Value
		col  string
		want table.Value
	}{
		{"a string property is copied", sl, "AuthenticationProtocol", table.Str("deviceCode")},
		{"ResultType stays a string", sl, "ResultType", table.Str("0")},
		{"TimeGenerated is the top-level time with 7 digits", sl, "TimeGenerated", ts("2025-03-04T10:15:42.1234567Z")},
		{"CreatedDateTime is properties.createdDateTime", sl, "CreatedDateTime", ts("2025-03-04T10:13:02.7654321Z")},
		{"an int ASN becomes its decimal text", sl, "AutonomousSystemNumber", table.Str("55836")},
		{"an int processing time becomes text", sl, "ProcessingTimeInMilliseconds", table.Str("147")},
		{"an int Level becomes text", sl, "Level", table.Str("4")},
		{"durationMs is a long", sl, "DurationMs", table.Long(0)},
		{"a bool is a bool", sl, "IsInteractive", table.Bool(true)},
		{"DeviceDetail is dynamic, compact, in source key order", sl, "DeviceDetail", table.Dynamic(`{"deviceId":"","operatingSystem":"Windows10","browser":"Chrome 122.0.0"}`)},
		{"number text inside JSON is kept as sent", sl, "LocationDetails", table.Dynamic(`{"city":"Amsterdam","state":"Noord-Holland","countryOrRegion":"NL","geoCoordinates":{"latitude":52.374031066894531,"longitude":4.8896899223327637}}`)},
		{"Status is dynamic", sl, "Status", table.Dynamic(`{"errorCode":0}`)},
		{"an empty array in a string column is its JSON text", sl, "NetworkLocationDetails", table.Str("[]")},
		{"ConditionalAccessAudiences as strings is JSON text", sl, "ConditionalAccessAudiences", table.Str(`["00000003-0000-0000-c000-000000000000"]`)},
		{"AADTenantId is the Entra tenant", sl, "AADTenantId", table.Str("6f4b1a2c-0d3e-4f5a-9b8c-7d6e5f4a3b2c")},
		{"ResourceId is the top-level resourceId", sl, "ResourceId", table.Str("/tenants/6f4b1a2c-0d3e-4f5a-9b8c-7d6e5f4a3b2c/providers/Microsoft.aadiam")},
		{"ResourceIdentity is properties.resourceId", sl, "ResourceIdentity", table.Str("00000003-0000-0000-c000-000000000000")},
		{"ResourceGroup is the last segment of resourceId", sl, "ResourceGroup", table.Str("Microsoft.aadiam")},
		{"ResourceProvider is the provider namespace", sl, "ResourceProvider", table.Str("Microsoft.aadiam")},
		{"Type is the table name", sl, "Type", table.Str("SigninLogs")},
		{"SourceSystem is Azure AD", sl, "SourceSystem", table.Str("Azure AD")},
		{"an unknown-source string column is empty", sl, "ClientSessionId", table.Str("")},
		{"an unknown-source bool column is null", sl, "IsRisky", table.Null},
		{"RiskEventTypes_V2 reads riskEventTypes_v2", sl, "RiskEventTypes_V2", table.Str("[]")},
		{"OriginalTransferMethod is a column", sl, "OriginalTransferMethod", table.Str("none")},
		{"Agent is dynamic in SigninLogs", sl, "Agent", table.Dynamic(`{"agentType":"notAgentic","parentAppId":""}`)},

		{"EndpointCall is Cmsi:Cmsi for an interactive device-code sign-in", beta, "EndpointCall", table.Str("Cmsi:Cmsi")},
		{"AadDeviceId is empty for an unregistered device", beta, "AadDeviceId", table.Str("")},
		{"EntraIdDeviceId equals AadDeviceId", entra, "EntraIdDeviceId", table.Str("")},
		{"ErrorCode is an int from status.errorCode", beta, "ErrorCode", table.Int(0)},
		{"risk none is 1", beta, "RiskLevelDuringSignIn", table.Int(1)},
		{"risk state none is 0", beta, "RiskState", table.Int(0)},
		{"notApplied CA is 2", beta, "ConditionalAccessStatus", table.Int(2)},
		{"an interactive record's LogonType", beta, "LogonType", table.Str(`["interactiveUser"]`)},
		{"absent isManaged is 0", beta, "IsManaged", table.Int(0)},
		{"Timestamp is createdDateTime", beta, "Timestamp", ts("2025-03-04T10:13:02.7654321Z")},
		{"TimeGenerated equals Timestamp", entra, "TimeGenerated", ts("2025-03-04T10:13:02.7654321Z")},
		{"Beta's TokenIssuerType AzureAD is 0", beta, "TokenIssuerType", table.Int(0)},
		{"EntraIdSignInEvents keeps the TokenIssuerType string", entra, "TokenIssuerType", table.Str("AzureAD")},
		{"Type names the Defender table asked for", entra, "Type", table.Str("EntraIdSignInEvents")},
		{"Latitude is the number's text", beta, "Latitude", table.Str("52.374031066894531")},
		{"Country is location.countryOrRegion", beta, "Country", table.Str("NL")},
		{"Application is appDisplayName", beta, "Application", table.Str("Microsoft Authentication Broker")},
		{"AccountUpn is userPrincipalName", beta, "AccountUpn", table.Str("ada@contoso.example")},
		{"same home and resource tenant is an internal user", beta, "IsExternalUser", table.Int(0)},
		{"a Member is no guest", beta, "IsGuestUser", table.Bool(false)},
		{"RequestId is properties.id", beta, "RequestId", table.Str(id)},
		{"TenantId is the Entra tenant", entra, "TenantId", table.Str("6f4b1a2c-0d3e-4f5a-9b8c-7d6e5f4a3b2c")},
		{"LastPasswordChangeTimestamp is not derivable", beta, "LastPasswordChangeTimestamp", table.Null},
		{"ConditionalAccessPolicies is JSON text in Defender", beta, "ConditionalAccessPolicies", table.Str(`[{"id":"0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f","displayName":"Require MFA for admins","enforcedGrantControls":[],"enforcedSessionControls":[],"result":"notEnabled","conditionsSatisfied":0,"conditionsNotSatisfied":0},{"id":"1a2b3c4d-5e6f-4708-9a0b-1c2d3e4f5a6b","displayName":"Block legacy authentication","enforcedGrantControls":["Block"],"enforcedSessionControls":[],"result":"notApplied","conditionsSatisfied":1,"conditionsNotSatisfied":8}]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.row[tt.col]; got != tt.want {
				t.Errorf("%s = %+v, want %+v", tt.col, got, tt.want)
			}
		})
	}
	rec := dc.rows[0].rec
	if rec.RecordID != id || rec.Category != "SignInLogs" || rec.CorrelationID != "c0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b" || rec.TenantID != "6f4b1a2c-0d3e-4f5a-9b8c-7d6e5f4a3b2c" {
		t.Errorf("record identity = %+v", rec)
	}
	if want := time.Date(2025, 3, 4, 10, 13, 2, 765432100, time.UTC); !rec.EventTime.Equal(want) {
		t.Errorf("EventTime = %v, want createdDateTime %v", rec.EventTime, want)
	}
}

func TestDecodeNonInteractiveRecordsHaveTheirOwnShape(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	dc := decodeWith(t, d, fixture(t, "noninteractive-devicecodeflow.json"), Source{File: "x", Line: 1})
	const id = "2e3f4051-6b7c-4d8e-9fa0-1b2c3d4e5f00"
	ni := dc.row(t, "AADNonInteractiveUserSignInLogs", id)
	beta := dc.row(t, "AADSignInEventsBeta", id)
	tests := []struct {
		name string
		row  map[string]table.Value
		col  string
		want table.Value
	}{
		{"DeviceDetail is JSON text, not dynamic", ni, "DeviceDetail", table.Str(`{"deviceId":"9f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f","displayName":"LAPTOP-ADA","operatingSystem":"Windows10","browser":"Rich Client 5.2.0","isCompliant":true,"isManaged":true,"trustType":"Microsoft Entra joined"}`)},
		{"OriginalTransferMethod marks the device-code redemption", ni, "OriginalTransferMethod", table.Str("deviceCodeFlow")},
		{"a string processing time passes through", ni, "ProcessingTimeInMs", table.Str("88")},
		{"Status is JSON text", ni, "Status", table.Str(`{"errorCode":0}`)},
		{"ResultSignature SUCCESS is kept", ni, "ResultSignature", table.Str("SUCCESS")},
		{"the non-interactive LogonType", beta, "LogonType", table.Str(`["nonInteractiveUser"]`)},
		{"EndpointCall is empty outside SigninLogs", beta, "EndpointCall", table.Str("")},
		{"AadDeviceId is deviceDetail.deviceId", beta, "AadDeviceId", table.Str("9f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f")},
		{"a managed device is 1", beta, "IsManaged", table.Int(1)},
		{"a compliant device is 1", beta, "IsCompliant", table.Int(1)},
		{"Entra joined is AzureAd", beta, "DeviceTrustType", table.Str("AzureAd")},
		{"DeviceName is deviceDetail.displayName", beta, "DeviceName", table.Str("LAPTOP-ADA")},
		{"risk medium is 50", beta, "RiskLevelDuringSignIn", table.Int(50)},
		{"risk hidden is 0", beta, "RiskLevelAggregated", table.Int(0)},
		{"atRisk is 4", beta, "RiskState", table.Int(4)},
		{"CA success is 0", beta, "ConditionalAccessStatus", table.Int(0)},
		{"RiskEventTypes prefers riskEventTypes_v2", beta, "RiskEventTypes", table.Str(`["unfamiliarFeatures","anomalousToken"]`)},
		{"a guest is a guest", beta, "IsGuestUser", table.Bool(true)},
		{"another home tenant is an external user", beta, "IsExternalUser", table.Int(1)},
		{"a negative longitude keeps its sign", beta, "Longitude", table.Str("-77.4903")},
		{"UniqueTokenId is uniqueTokenIdentifier", beta, "UniqueTokenId", table.Str("VE9LRU4yX0lE")},
		{"Global Secure Access under the successor's name", beta, "IsSignInThroughGlobalSecureAccess", table.Bool(true)},
		{"a fractional createdDateTime is padded to 100 ns", beta, "Timestamp", ts("2025-03-04T10:14:11.5Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.row[tt.col]; got != tt.want {
				t.Errorf("%s = %+v, want %+v", tt.col, got, tt.want)
			}
		})
	}
}

// Field report 20 (open-telemetry/opentelemetry-collector-contrib#31244): an empty time falls back to createdDateTime, an unparseable one to the enqueued time; no record lost.
// Field report 21 (open-telemetry/opentelemetry-collector-contrib#36650): US 12-hour and 24-hour-with-milliseconds times are read as UTC.
func TestDecodeToleratesWhatAzureReallySends(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	enq := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	tests := []struct {
		name    string
		fixture string
		table   string
		id      string
		col     string
		want    table.Value
	}{
		{"Level as a string", "level-string.json", "SigninLogs", "level-string", "Level", table.Str("4")},
		{"lower-case level Informational", "level-lowercase-informational.json", "AADServicePrincipalSignInLogs", "level-lower", "Level", table.Str("Informational")},
		{"durationMs as a string", "duration-string.json", "AADServicePrincipalSignInLogs", "duration-string", "DurationMs", table.Long(0)},
		{"a fractional durationMs string is truncated", "duration-fraction.json", "SigninLogs", "duration-fraction", "DurationMs", table.Long(14)},
		{"a US 12-hour time", "time-us-12h.json", "AADServicePrincipalSignInLogs", "time-us-12h", "TimeGenerated", ts("2025-11-14T01:48:53Z")},
		{"a US 24-hour time with milliseconds", "time-us-24h-millis.json", "SigninLogs", "time-us-24h", "TimeGenerated", ts("2026-02-20T14:54:26.123Z")},
		{"an offset time is converted to UTC and cut to 100 ns", "time-offset.json", "SigninLogs", "time-offset", "TimeGenerated", ts("2025-06-01T10:00:00.1234567Z")},
		{"a negative offset createdDateTime", "time-offset.json", "SigninLogs", "time-offset", "CreatedDateTime", ts("2025-06-01T09:59:58.5Z")},
		{"an empty time falls back to createdDateTime", "time-unparseable.json", "SigninLogs", "time-unparseable", "TimeGenerated", ts("2025-07-01T10:00:05Z")},
		{"no usable time falls back to the enqueued time", "time-none.json", "SigninLogs", "time-none", "TimeGenerated", ts("2026-01-02T03:04:05.6Z")},
		{"the Defender Timestamp falls back to time", "time-us-24h-millis.json", "AADSignInEventsBeta", "time-us-24h", "Timestamp", ts("2026-02-20T14:54:26.123Z")},
		{"ResultType of a failure", "resultsignature-success.json", "SigninLogs", "sig", "ResultType", table.Str("50140")},
		{"ResultDescription absent is empty", "resultsignature-success.json", "SigninLogs", "sig", "ResultDescription", table.Str("")},
		{"ErrorCode of a failure", "resultsignature-success.json", "AADSignInEventsBeta", "sig", "ErrorCode", table.Int(50140)},
		{"ResultType from status.errorCode when resultType is absent", "resulttype-missing.json", "SigninLogs", "rt-missing", "ResultType", table.Str("50158")},
		{"a service principal has no DeviceDetail column to fill and a null userId", "service-principal-no-device.json", "AADServicePrincipalSignInLogs", "sp-1", "ServicePrincipalName", table.Str("backup-job")},
		{"an SP record's LocationDetails is JSON text", "service-principal-no-device.json", "AADServicePrincipalSignInLogs", "sp-1", "LocationDetails", table.Str(`{"city":"","state":"","countryOrRegion":"","geoCoordinates":{"latitude":0.0,"longitude":0.0}}`)},
		{"absent identity is empty", "service-principal-no-device.json", "AADServicePrincipalSignInLogs", "sp-1", "Identity", table.Str("")},
		{"properties sent as a JSON string are decoded", "properties-as-string.json", "SigninLogs", "prop-string", "DeviceDetail", table.Dynamic(`{"deviceId":"","browser":"Edge"}`)},
		{"Cmsi:Cmsi from properties sent as a string", "properties-as-string.json", "AADSignInEventsBeta", "prop-string", "EndpointCall", table.Str("Cmsi:Cmsi")},
		{"CA audiences as objects", "ca-audiences-objects.json", "SigninLogs", "caa-objects", "ConditionalAccessAudiences", table.Str(`[{"applicationId":"00000003-0000-0000-c000-000000000000","audienceReasons":"none"}]`)},
		{"CA audiences as strings", "ca-audiences-strings.json", "AADNonInteractiveUserSignInLogs", "caa-strings", "ConditionalAccessAudiences", table.Str(`["00000003-0000-0000-c000-000000000000","00000002-0000-0ff1-ce00-000000000000"]`)},
		{"CA audiences as one object", "ca-audiences-object.json", "SigninLogs", "caa-object", "ConditionalAccessAudiences", table.Str(`{"applicationId":"00000003-0000-0000-c000-000000000000"}`)},
		{"the 2018 category SignIn is SigninLogs", "category-signin-2018.json", "SigninLogs", "preview-2018", "Category", table.Str("SignIn")},
		{"the 2018 integer CA status 2 is notApplied", "category-signin-2018.json", "SigninLogs", "preview-2018", "ConditionalAccessStatus", table.Str("notApplied")},
		{"the 2018 integer CA status passes to Defender", "category-signin-2018.json", "AADSignInEventsBeta", "preview-2018", "ConditionalAccessStatus", table.Int(2)},
		{"a null resourceId gives an empty ResourceGroup", "category-signin-2018.json", "SigninLogs", "preview-2018", "ResourceGroup", table.Str("")},
		{"a wrong-type errorCode falls back to resultType", "wrong-types.json", "AADSignInEventsBeta", "wrong-types", "ErrorCode", table.Null},
		{"a non-number durationMs is empty", "wrong-types.json", "SigninLogs", "wrong-types", "DurationMs", table.Null},
		{"a non-bool isInteractive is empty", "wrong-types.json", "SigninLogs", "wrong-types", "IsInteractive", table.Null},
		{"a number createdDateTime is empty", "wrong-types.json", "SigninLogs", "wrong-types", "CreatedDateTime", table.Null},
		{"a string ASN passes through", "wrong-types.json", "SigninLogs", "wrong-types", "AutonomousSystemNumber", table.Str("AS55836")},
		{"a null userId is empty", "wrong-types.json", "SigninLogs", "wrong-types", "UserId", table.Str("")},
		{"a string deviceDetail stays a dynamic string", "wrong-types.json", "SigninLogs", "wrong-types", "DeviceDetail", table.Dynamic(`"not-an-object"`)},
		{"a string deviceDetail has no deviceId", "wrong-types.json", "AADSignInEventsBeta", "wrong-types", "AadDeviceId", table.Str("")},
		{"pretty-printed JSON is compacted", "pretty-printed.json", "SigninLogs", "pretty", "DeviceDetail", table.Dynamic(`{"deviceId":"","operatingSystem":"MacOs"}`)},
		{"compacting keeps the number text", "pretty-printed.json", "SigninLogs", "pretty", "LocationDetails", table.Dynamic(`{"geoCoordinates":{"latitude":78.376632690429688,"longitude":-2.1}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc := decodeWith(t, d, fixture(t, tt.fixture), Source{EventHub: "hub", Partition: "1", EnqueuedTime: enq})
			if len(dc.res.DeadLetters) != 0 {
				t.Fatalf("dead letters: %+v", dc.res.DeadLetters)
			}
			if got := dc.row(t, tt.table, tt.id)[tt.col]; got != tt.want {
				t.Errorf("%s = %+v, want %+v", tt.col, got, tt.want)
			}
		})
	}
}

func TestARecordWithoutAnIDIsIdentifiedByTheHashOfItsBytes(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "Id")}, DecodeOptions{})
	body := fixture(t, "no-properties-id.json")
	dc := decodeWith(t, d, body, Source{})
	if len(dc.rows) != 1 {
		t.Fatalf("rows: %d", len(dc.rows))
	}
	// The fixture is the record alone, so Raw is the body without its newline.
	raw := dc.rows[0].rec.Raw
	if string(raw) != strings.TrimSpace(string(body)) {
		t.Fatalf("Raw = %q", raw)
	}
	if got, want := dc.rows[0].rec.RecordID, sha256Hex(raw); got != want {
		t.Errorf("RecordID = %s, want %s", got, want)
	}
	if got := dc.rows[0].vals["Id"]; got != table.Str("") {
		t.Errorf("Id = %+v, want empty", got)
	}
}

func TestEveryRecordOfAnEnvelopeIsRoutedOrCountedByCategory(t *testing.T) {
	d := NewDecoder(Need{
		table.SigninLogs:                      needCols(table.SigninLogs, "Id"),
		table.AADNonInteractiveUserSignInLogs: needCols(table.AADNonInteractiveUserSignInLogs, "Id"),
	}, DecodeOptions{})
	before := testutil.ToFloat64(metrics.RecordsSkipped.WithLabelValues("AuditLogs"))
	miBefore := testutil.ToFloat64(metrics.RecordsDecoded.WithLabelValues("AADManagedIdentitySignInLogs"))
	dc := decodeWith(t, d, fixture(t, "body-envelope-mixed.json"), Source{})
	if dc.res.Records != 5 {
		t.Errorf("Records = %d, want 5", dc.res.Records)
	}
	if want := map[string]int{"SigninLogs": 1, "AADNonInteractiveUserSignInLogs": 1}; !mapsEqual(dc.res.PerTable, want) {
		t.Errorf("PerTable = %v, want %v", dc.res.PerTable, want)
	}
	if want := map[string]int{"AuditLogs": 1}; !mapsEqual(dc.res.SkippedCategories, want) {
		t.Errorf("SkippedCategories = %v, want %v", dc.res.SkippedCategories, want)
	}
	// The record without a category is no category's: a dead letter.
	if dls := dc.res.DeadLetters; len(dls) != 1 || dls[0].Reason != ReasonBadRecord || *dls[0].Source.Index != 3 {
		t.Errorf("dead letters = %+v, want record 3 as bad-record", dls)
	}
	if got := testutil.ToFloat64(metrics.RecordsSkipped.WithLabelValues("AuditLogs")) - before; got != 1 {
		t.Errorf("records_skipped_total{AuditLogs} rose by %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.RecordsDecoded.WithLabelValues("AADManagedIdentitySignInLogs")) - miBefore; got != 1 {
		t.Errorf("records_decoded_total{MI} rose by %v, want 1 (counted though no rule reads it)", got)
	}
	if ids := []string{dc.rows[0].rec.RecordID, dc.rows[1].rec.RecordID}; ids[0] != "mixed-0" || ids[1] != "mixed-2" || dc.rows[1].rec.Index != 2 {
		t.Errorf("rows = %v (index %d)", ids, dc.rows[1].rec.Index)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Field report 16 (open-telemetry/opentelemetry-collector-contrib#45898): the report's unparseable record is dead-lettered alone.
// Field report 17 (elastic/beats#34092): raw line breaks inside JSON strings are repaired and the record decoded.
// Field report 19 (elastic/beats#40641): a `[ 227 B blob data ]` placeholder costs its own record only; the next record is decoded.
func TestBrokenBodiesLoseOnlyTheirBrokenRecords(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "Id", "UserAgent")}, DecodeOptions{})
	tests := []struct {
		name     string
		fixture  string
		repaired string
		ids      []string
		dead     []string // reason of each dead letter
		deadIdx  []int    // record index of each, -1 for the body
		errHas   string
	}{
		{"a bare array is a list of records", "body-bare-array.json", "", []string{"array-0", "array-1"}, nil, nil, ""},
		{"raw control characters inside strings are escaped", "body-control-chars.txt", "control-characters", []string{"ctl-0"}, nil, nil, ""},
		{"field report 16: a broken lone record is dead-lettered", "body-broken-record-16.txt", "", nil, []string{ReasonInvalidJSON}, []int{0}, "record 0: invalid JSON at byte"},
		{"a broken record does not take the next one with it", "body-broken-then-good.txt", "", []string{"after-broken"}, []string{ReasonInvalidJSON}, []int{0}, "record 0:"},
		{"field report 19: blob placeholder then a good record", "body-blob-data-19.txt", "", []string{"after-blob"}, []string{ReasonInvalidJSON}, []int{0}, "record 0:"},
		{"a repaired body with a broken record keeps the others", "body-control-chars-and-broken.txt", "control-characters", []string{"ctl-a", "ctl-c"}, []string{ReasonInvalidJSON}, []int{1}, "record 1:"},
		{"a record that is not an object", "body-record-not-object.json", "", []string{"after-number"}, []string{ReasonBadRecord}, []int{0}, "record 0: want a JSON object, got a number"},
		{"properties that are an array", "body-properties-array.json", "", []string{"after-array"}, []string{ReasonBadRecord}, []int{0}, "record 0: properties: want an object, got an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fixture(t, tt.fixture)
			orig := append([]byte(nil), body...)
			dc := decodeWith(t, d, body, Source{EventHub: "h", Partition: "0"})
			if string(body) != string(orig) {
				t.Error("Decode modified the caller's body")
			}
			if dc.res.Repaired != tt.repaired {
				t.Errorf("Repaired = %q, want %q", dc.res.Repaired, tt.repaired)
			}
			var ids []string
			for _, r := range dc.rows {
				ids = append(ids, r.rec.RecordID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.ids, ",") {
				t.Errorf("records decoded = %v, want %v", ids, tt.ids)
			}
			if len(dc.res.DeadLetters) != len(tt.dead) {
				t.Fatalf("dead letters = %+v, want reasons %v", dc.res.DeadLetters, tt.dead)
			}
			for i, dl := range dc.res.DeadLetters {
				if dl.Reason != tt.dead[i] {
					t.Errorf("dead letter %d reason = %q, want %q", i, dl.Reason, tt.dead[i])
				}
				if dl.Source.Index == nil || *dl.Source.Index != tt.deadIdx[i] {
					t.Errorf("dead letter %d index = %v, want %d", i, dl.Source.Index, tt.deadIdx[i])
				}
				if !strings.Contains(dl.Error, tt.errHas) {
					t.Errorf("dead letter error %q does not say %q", dl.Error, tt.errHas)
				}
				if len(dl.Raw) == 0 || !strings.Contains(string(body), string(dl.Raw)) {
					t.Errorf("dead letter raw %q is not a piece of the body", dl.Raw)
				}
			}
		})
	}
}

// Field report 17 (elastic/beats#34092): the repaired value keeps its line break and bodies_repaired_total counts the repair.
func TestRepairedStringsKeepTheirLineBreaks(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "UserAgent")}, DecodeOptions{})
	before := testutil.ToFloat64(metrics.BodiesRepaired.WithLabelValues("control-characters"))
	dc := decodeWith(t, d, fixture(t, "body-control-chars.txt"), Source{})
	if got := dc.row(t, "SigninLogs", "ctl-0")["UserAgent"]; got != table.Str("line1\nline2\tend\r") {
		t.Errorf("UserAgent = %q", got.S)
	}
	if got := testutil.ToFloat64(metrics.BodiesRepaired.WithLabelValues("control-characters")) - before; got != 1 {
		t.Errorf("bodies_repaired_total rose by %v, want 1", got)
	}
}

func TestHostileBodiesAreRefusedWithoutDecoding(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{MaxBodyBytes: 1 << 10, MaxDepth: 16})
	deep := `{"records":[{"category":"SignInLogs","properties":{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}]}`
	tests := []struct {
		name   string
		body   string
		reason string
		errHas string
		raw    string
	}{
		{"a body over the size limit", `{"records":[` + strings.Repeat(" ", 2000) + `]}`, ReasonBodyTooLarge, "larger than the 1024-byte limit", ""},
		{"a record nested deeper than the limit", deep, ReasonInvalidJSON, "record 0: invalid JSON at byte 56 of the record: nesting deeper than 16", deep[len(`{"records":[`) : len(deep)-2]},
		{"an empty body", "", ReasonInvalidJSON, "empty body", ""},
		{"a scalar body", `"hello"`, ReasonNotRecords, "got a string", ""},
		{"records holding an object", `{"records":{"a":1}}`, ReasonNotRecords, `got "records" holding an object`, ""},
		{"records holding null", `{"records":null}`, ReasonNotRecords, `got "records" holding null`, ""},
		{"garbage", `not json at all`, ReasonInvalidJSON, "invalid JSON at byte 0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := testutil.ToFloat64(metrics.DecodeFailures.WithLabelValues(tt.reason))
			dc := decodeWith(t, d, []byte(tt.body), Source{})
			if len(dc.rows) != 0 || len(dc.res.DeadLetters) != 1 {
				t.Fatalf("rows %d, dead letters %+v", len(dc.rows), dc.res.DeadLetters)
			}
			dl := dc.res.DeadLetters[0]
			raw := tt.raw
			if raw == "" {
				raw = tt.body
			}
			if dl.Reason != tt.reason || !strings.Contains(dl.Error, tt.errHas) || string(dl.Raw) != raw {
				t.Errorf("dead letter = %+v, want reason %s saying %q", dl, tt.reason, tt.errHas)
			}
			if got := testutil.ToFloat64(metrics.DecodeFailures.WithLabelValues(tt.reason)) - before; got != 1 {
				t.Errorf("decode_failures_total{%s} rose by %v, want 1", tt.reason, got)
			}
		})
	}
}

func TestCoercedFieldsAreCounted(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "DurationMs")}, DecodeOptions{})
	trunc := testutil.ToFloat64(metrics.FieldsCoerced.WithLabelValues("DurationMs", "truncated"))
	emptied := testutil.ToFloat64(metrics.FieldsCoerced.WithLabelValues("DurationMs", "emptied"))
	decodeWith(t, d, fixture(t, "duration-fraction.json"), Source{})
	decodeWith(t, d, fixture(t, "wrong-types.json"), Source{})
	if got := testutil.ToFloat64(metrics.FieldsCoerced.WithLabelValues("DurationMs", "truncated")) - trunc; got != 1 {
		t.Errorf("truncated rose by %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.FieldsCoerced.WithLabelValues("DurationMs", "emptied")) - emptied; got != 1 {
		t.Errorf("emptied rose by %v, want 1", got)
	}
}

// Field report 20 (open-telemetry/opentelemetry-collector-contrib#27589): each time fallback is counted in time_fallbacks_total by the fallback used.
func TestTimeFallbacksAreCountedByTheFallbackUsed(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: needCols(table.SigninLogs, "TimeGenerated")}, DecodeOptions{})
	created := testutil.ToFloat64(metrics.TimeFallbacks.WithLabelValues("createdDateTime"))
	enq := testutil.ToFloat64(metrics.TimeFallbacks.WithLabelValues("enqueuedTime"))
	src := Source{EventHub: "h", Partition: "0", EnqueuedTime: time.Now()}
	decodeWith(t, d, fixture(t, "time-unparseable.json"), src)
	decodeWith(t, d, fixture(t, "time-none.json"), src)
	decodeWith(t, d, fixture(t, "level-string.json"), src)
	if got := testutil.ToFloat64(metrics.TimeFallbacks.WithLabelValues("createdDateTime")) - created; got != 1 {
		t.Errorf("createdDateTime fallbacks rose by %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.TimeFallbacks.WithLabelValues("enqueuedTime")) - enq; got != 1 {
		t.Errorf("enqueuedTime fallbacks rose by %v, want 1", got)
	}
}

func TestOnlyTheNeededColumnsAreSetAndTheyMatchDecodeFull(t *testing.T) {
	need := Need{
		table.SigninLogs:          needCols(table.SigninLogs, "ResultType", "AuthenticationProtocol", "DeviceDetail", "TimeGenerated"),
		table.AADSignInEventsBeta: needCols(table.AADSignInEventsBeta, "ErrorCode", "EndpointCall", "AadDeviceId"),
	}
	d := NewDecoder(need, DecodeOptions{})
	body := fixture(t, "signin-devicecode-unmanaged.json")
	calls := 0
	_, err := d.Decode(body, Source{}, func(rec *Record, row *table.Row) error {
		calls++
		full, err := d.DecodeFull(rec, row.Table)
		if err != nil {
			return err
		}
		wanted := map[int]bool{}
		for _, o := range need[row.Table] {
			wanted[o] = true
		}
		for i, c := range row.Table.Columns {
			switch {
			case wanted[i] && row.Vals[i] != full.Vals[i]:
				t.Errorf("%s.%s = %+v, DecodeFull says %+v", row.Table.Name, c.Name, row.Vals[i], full.Vals[i])
			case !wanted[i] && row.Vals[i] != table.Null:
				t.Errorf("%s.%s was set (%+v) though no rule needs it", row.Table.Name, c.Name, row.Vals[i])
			}
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("calls %d, err %v", calls, err)
	}
}

func TestDecodeFullRefusesATableTheRecordDoesNotFeed(t *testing.T) {
	d := NewDecoder(Need{table.AADServicePrincipalSignInLogs: nil}, DecodeOptions{})
	var got error
	d.Decode(fixture(t, "service-principal-no-device.json"), Source{}, func(rec *Record, row *table.Row) error {
		_, got = d.DecodeFull(rec, table.AADSignInEventsBeta)
		return nil
	})
	if got == nil || !strings.Contains(got.Error(), "has no AADSignInEventsBeta row") {
		t.Errorf("DecodeFull error = %v", got)
	}
}

func TestAnErrorFromTheCallbackStopsDecoding(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: nil}, DecodeOptions{})
	stop := errors.New("sink full")
	calls := 0
	_, err := d.Decode(fixture(t, "body-bare-array.json"), Source{}, func(*Record, *table.Row) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 || !strings.Contains(err.Error(), "record 0 (SigninLogs)") {
		t.Errorf("err %v after %d calls", err, calls)
	}
}

func TestDecoderIsSafeForConcurrentWorkers(t *testing.T) {
	d := NewDecoder(needAll(), DecodeOptions{})
	body := fixture(t, "signin-devicecode-unmanaged.json")
	done := make(chan string)
	for w := 0; w < 4; w++ {
		go func() {
			var last string
			for i := 0; i < 50; i++ {
				d.Decode(body, Source{}, func(rec *Record, row *table.Row) error {
					if row.Table == table.AADSignInEventsBeta {
						i, _ := row.Table.Index("EndpointCall")
						last = row.Vals[i].S
					}
					return nil
				})
			}
			done <- last
		}()
	}
	for w := 0; w < 4; w++ {
		if got := <-done; got != "Cmsi:Cmsi" {
			t.Errorf("worker saw EndpointCall %q", got)
		}
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestADeadRecordKeepsItsOwnBytes(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: nil}, DecodeOptions{})
	tests := []struct {
		name string
		body string
		raw  string
	}{
		{"a truncated envelope keeps every byte of the record", `{"records":[{"time":"2024-01-01T00:00:00Z","properties":{]}`, `{"time":"2024-01-01T00:00:00Z","properties":{]}`},
		{"a closed envelope gives back its closers", `{"records":[{"time":"t","properties":{"a":1 2}}]}`, `{"time":"t","properties":{"a":1 2}}`},
		{"a bare array gives back its bracket", `[{"time":"t","properties":{"a":}}]`, `{"time":"t","properties":{"a":}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc := decodeWith(t, d, []byte(tt.body), Source{})
			if len(dc.res.DeadLetters) != 1 || string(dc.res.DeadLetters[0].Raw) != tt.raw {
				t.Fatalf("dead letters %+v, want raw %s", dc.res.DeadLetters, tt.raw)
			}
		})
	}
}

func TestEveryRegisteredPropertyIsFoundAndNoOtherKey(t *testing.T) {
	for id, name := range propNames {
		if got := lookupProp([]byte(name)); got != id {
			t.Errorf("lookupProp(%q) = %d, want %d", name, got, id)
		}
	}
	for _, k := range []string{"", "ID", "Id", "userid", "unknownKey", "SignInBondData", "userPrincipalNam"} {
		if got := lookupProp([]byte(k)); got != -1 {
			t.Errorf("lookupProp(%q) = %d, want -1", k, got)
		}
	}
}

func TestABodyOfTooManyRecordsIsRefusedWithBoundedMemory(t *testing.T) {
	d := NewDecoder(Need{table.SigninLogs: nil}, DecodeOptions{MaxRecords: 100})
	var b strings.Builder
	b.WriteString(`{"records":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"category":"SignInLogs","properties":{"id":"x"}}`)
	}
	b.WriteString("]}")
	dc := decodeWith(t, d, []byte(b.String()), Source{})
	if len(dc.rows) != 0 || len(dc.res.DeadLetters) != 1 || dc.res.DeadLetters[0].Reason != ReasonTooManyRecords {
		t.Fatalf("rows %d, dead letters %+v", len(dc.rows), dc.res.DeadLetters)
	}
	if !strings.Contains(dc.res.DeadLetters[0].Error, "more than 100 records") {
		t.Errorf("error = %s", dc.res.DeadLetters[0].Error)
	}
	// At the limit, the body is decoded.
	d = NewDecoder(Need{table.SigninLogs: nil}, DecodeOptions{MaxRecords: 1000})
	if dc := decodeWith(t, d, []byte(b.String()), Source{}); len(dc.rows) != 1000 {
		t.Errorf("rows at the limit = %d, want 1000", len(dc.rows))
	}
}
