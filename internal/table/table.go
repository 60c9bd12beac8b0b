// Package table holds what the decoder and the KQL engine agree on: the column
// types of the sign-in tables, the value a cell holds, and a decoded row.
package table

import "fmt"

// Type is a Kusto scalar type as a table column declares it.
type Type uint8

// The Kusto scalar types the sign-in tables use.
const (
	TypeInvalid Type = iota
	TypeString
	TypeBool
	TypeInt
	TypeLong
	TypeReal
	TypeDateTime
	TypeTimeSpan
	TypeDynamic
	TypeGUID
)

var typeNames = [...]string{"invalid", "string", "bool", "int", "long", "real", "datetime", "timespan", "dynamic", "guid"}

// String returns the Kusto name of the type ("string", "dynamic", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// Column is one column of a table: its Microsoft name and Kusto type.
type Column struct {
	Name string
	Type Type
	// Known, when not nil, lists the only values the stream can produce for
	// this column besides "" (EndpointCall: only "Cmsi:Cmsi" is derivable).
	// The rule compiler refuses a comparison of the column with any other
	// literal, since such a rule could never match honestly.
	Known []string
}

// Table is the schema of one Log Analytics or Defender table.
type Table struct {
	// Name is the table's name as queries spell it (SigninLogs, AADSignInEventsBeta, ...).
	Name string
	// Columns in Microsoft's order (the order `project-reorder` keeps for unnamed columns).
	Columns []Column
	byName  map[string]int
}

// NewTable builds a table schema and its column index. It panics on a
// duplicate column name, which is a programming error in a schema literal.
func NewTable(name string, cols []Column) *Table {
	t := &Table{Name: name, Columns: cols, byName: make(map[string]int, len(cols))}
	for i, c := range cols {
		if _, dup := t.byName[c.Name]; dup {
			panic(fmt.Sprintf("table %s: duplicate column %s", name, c.Name))
		}
		t.byName[c.Name] = i
	}
	return t
}

// Index returns the ordinal of the named column (case-sensitive, as in Kusto).
func (t *Table) Index(name string) (int, bool) {
	i, ok := t.byName[name]
	return i, ok
}

// Kind is the runtime kind of a Value. Null is a missing value of any type.
type Kind uint8

// Value kinds.
const (
	KindNull Kind = iota
	KindString
	KindBool
	KindInt
	KindLong
	KindReal
	KindDateTime
	KindTimeSpan
	KindDynamic
)

// Value is one cell. It is a small value type so that rows need no per-cell
// allocation:
//   - String: S holds the text (Kusto strings are never null; "" when absent).
//   - Bool: I is 0 or 1.  Int, Long: I.  Real: F.
//   - DateTime: I is nanoseconds since the Unix epoch, UTC, 100 ns precision.
//   - TimeSpan: I is nanoseconds (a time.Duration).
//   - Dynamic: S holds compact JSON text of the value (an object, array,
//     string, number or bool); a JSON null or missing dynamic is KindNull.
type Value struct {
	K Kind
	S string
	I int64
	F float64
}

// Null is the missing value.
var Null = Value{}

// Str returns a string value.
func Str(s string) Value { return Value{K: KindString, S: s} }

// Long returns a long value.
func Long(n int64) Value { return Value{K: KindLong, I: n} }

// Int returns an int value.
func Int(n int64) Value { return Value{K: KindInt, I: n} }

// Real returns a real value.
func Real(f float64) Value { return Value{K: KindReal, F: f} }

// Bool returns a bool value.
func Bool(b bool) Value {
	if b {
		return Value{K: KindBool, I: 1}
	}
	return Value{K: KindBool}
}

// DateTimeNanos returns a datetime value from Unix nanoseconds.
func DateTimeNanos(ns int64) Value { return Value{K: KindDateTime, I: ns} }

// TimeSpanNanos returns a timespan value from nanoseconds.
func TimeSpanNanos(ns int64) Value { return Value{K: KindTimeSpan, I: ns} }

// Dynamic returns a dynamic value holding compact JSON text; "null" or "" gives Null.
func Dynamic(json string) Value {
	if json == "" || json == "null" {
		return Null
	}
	return Value{K: KindDynamic, S: json}
}

// Row is one record decoded as a row of Table. Vals is indexed by column
// ordinal. A decoder that extracts only the columns a rule set reads leaves
// the others as Null.
type Row struct {
	Table *Table
	Vals  []Value
}
