package kql

import "github.com/streamhunt/streamhunt/internal/table"

// Query is a parsed query: its let statements and the tabular expression
// that produces rows.
type Query struct {
	// Text is the query as given to Parse.
	Text string
	// Lets are the let statements in order.
	Lets []*Let
	// Body is the query's tabular expression (the last statement); nil
	// when the query has only let statements.
	Body Expr
	// End is the position just past the last token.
	End Pos
}

// Let is one `let name = value;` statement.
type Let struct {
	Pos   Pos
	Name  string
	Value Expr // nil for a function
	// Func is set for `let f = (params) { body }`.
	Func *FuncDef
}

// FuncDef is a user function defined by let.
type FuncDef struct {
	Params []Param
	Lets   []*Let
	Body   Expr
}

// Param is a let-function parameter.
type Param struct {
	Name    string
	Type    string
	Default Expr
}

// Expr is a scalar or tabular expression.
type Expr interface{ Position() Pos }

// Ident is a name: a column, a table or a let binding.
type Ident struct {
	Pos  Pos
	Name string
	// Quoted is true for ['..'] names.
	Quoted bool
}

// Literal is a constant.
type Literal struct {
	Pos  Pos
	Type table.Type // TypeInvalid for a typeless null
	Val  table.Value
	Text string
}

// Binary is a binary operator application; Op is the operator as written
// (==, has, !in~, matches regex, ...).
type Binary struct {
	Pos  Pos
	Op   string
	L, R Expr
}

// Unary is unary minus or plus.
type Unary struct {
	Pos Pos
	Op  string
	X   Expr
}

// List is a parenthesised list such as the right side of `in`.
type List struct {
	Pos   Pos
	Items []Expr
}

// Between is `X between (Lo .. Hi)` or !between.
type Between struct {
	Pos    Pos
	Not    bool
	X      Expr
	Lo, Hi Expr
}

// Call is a function call.
type Call struct {
	Pos  Pos
	Name string
	Args []Expr
	// Star is true for a call with a * argument, such as count(*).
	Star bool
	// Schema is the schema of datatable(...)[...] and externaldata, as
	// written ("(ip:string, n:long)"); Args are then the datatable's
	// values, row after row.
	Schema string
}

// Member is dynamic member access X.Name or X["Name"].
type Member struct {
	Pos  Pos
	X    Expr
	Name string
}

// Index is element access X[Idx].
type Index struct {
	Pos Pos
	X   Expr
	Idx Expr
}

// Paren is a parenthesised expression.
type Paren struct {
	Pos Pos
	X   Expr
}

// Star is `*` where a column list or wildcard is allowed.
type Star struct{ Pos Pos }

// Pipeline is a tabular expression: a source followed by operators.
type Pipeline struct {
	Pos    Pos
	Source Expr // nil inside mv-apply
	Ops    []Operator
}

// Union is the union operator used as a source or after a pipe.
type Union struct {
	Pos     Pos
	Options []Option
	Tables  []Expr
}

// Position returns where the expression starts.
func (e *Ident) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Literal) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Binary) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Unary) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *List) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Between) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Call) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Member) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Index) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Paren) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Star) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Pipeline) Position() Pos { return e.Pos }

// Position returns where the expression starts.
func (e *Union) Position() Pos { return e.Pos }

// Option is a `name=value` operator option such as kind=inner.
type Option struct {
	Name  string
	Value Expr
}

// Assign is one item of extend, project, summarize or mv-expand: an
// expression and the names it is given (none when unnamed, several for
// `(a, b) = f(...)`).
type Assign struct {
	Pos   Pos
	Names []string
	Expr  Expr
	// Type is mv-expand's `to typeof(Type)`, when given.
	Type string
}

// Operator is one tabular operator after a pipe.
type Operator struct {
	Pos Pos
	// Name is the operator as written: where, extend, project, ...
	Name    string
	Options []Option
	// Pred is the predicate of where.
	Pred Expr
	// Items are the assignments of extend, project, summarize (aggregates),
	// mv-expand, serialize; the expressions of sort/order/top/distinct.
	Items []Assign
	// By are summarize's by-expressions.
	By []Assign
	// Names are the column patterns of project-away/keep/reorder and
	// the new=old pairs of project-rename (as "new", "old" in turn).
	Names []NamePat
	// Arg is the count of take/limit/top, the right side of join/lookup,
	// the argument of invoke/evaluate, the subquery of mv-apply.
	Arg Expr
	// On holds join/lookup conditions.
	On []Expr
	// Union is set for the union operator.
	Union *Union
}

// NamePat is a column name or wildcard pattern in a column list.
type NamePat struct {
	Pos  Pos
	Name string
}
