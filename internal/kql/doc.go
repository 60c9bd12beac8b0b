// Package kql is streamhunt's rule engine: a hand-written lexer and
// recursive-descent parser for KQL (following Microsoft's grammar,
// Kql.g4) and a compiler that turns a query into a per-record program over
// one table's typed columns (internal/table).
//
// Use:
//
//	q, err := kql.Parse(text)                      // syntax errors are *kql.Error with line:column
//	p, err := kql.Compile(q, kql.CatalogFunc(table.Lookup), kql.Options{Now: clock})
//	cols := p.Columns()                            // decode only these before Match
//	ok, err := p.Match(row)                        // hot path: no allocation in the common case
//	outs, err := p.Run(fullRow)                    // on a match: output rows, columns in query order
//
// A Program is a pipeline of stages (where predicates, computed columns and
// mv-expand expansions). Expressions compile to closures over column ordinals;
// constants are folded, case-insensitive operands lower-cased and regular
// expressions compiled once. Dynamic values hold compact JSON text, and
// member and index access scan that text without allocating.
//
// Parse recognises the whole operator vocabulary of the public sign-in
// queries (summarize, join, union, mv-expand, let functions, ...); Compile
// accepts the per-record subset (where, filter, extend, project,
// project-away, project-keep, project-reorder, project-rename, and
// mv-expand, which gives one row per element of a dynamic array or property
// bag, so Run can return several rows for one record; take, limit, sort,
// order, render, as and serialize are ignored with a warning, listed by
// Program.Warnings) and refuses the rest with "unsupported in per-record
// rules: <operator> (<why>)". CompileAll also accepts a union of tables
// at the top of the query, giving one Program per table; rule loading
// (pipeline.New) uses it.
//
// Kusto's meaning is kept: == is case-sensitive and =~ is not; has matches
// whole terms; strings are never null; == of a null and a non-null value
// is false and != is true (two nulls give null), ordering comparisons with
// null give null, and where drops null; a string compared with a number by
// ==, != or in is compared numerically when it holds a number and is
// unequal otherwise, while an ordering comparison of a string and a number
// is a compile error; dynamic values compare by their runtime JSON type. A
// column whose schema lists Known values (EndpointCall, which the stream
// derives only as "Cmsi:Cmsi") may only be compared as a whole with ==, =~
// or in (or !=, !~, !in) against those values, or output as a whole; any
// other use is refused.
package kql
