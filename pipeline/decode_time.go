package pipeline

import "time"

// parseTime parses the time forms Azure sends, to Unix nanoseconds in UTC
// truncated to 100 ns (Kusto's datetime precision):
//   - ISO 8601 / RFC 3339 with any number of fractional digits and a Z, a
//     ±hh:mm / ±hhmm offset or no zone (taken as UTC), with T or a space;
//   - US forms M/D/YYYY h:mm:ss[.fff] with an optional AM/PM and an optional
//     ±hh:mm offset (`11/14/2025 1:48:53 AM`, `02/20/2026 14:54:26.123`).
func parseTime(b []byte) (int64, bool) {
	if len(b) >= 10 && b[4] == '-' {
		return parseISO(b)
	}
	return parseUS(b)
}

type cursor struct {
	b []byte
	i int
}

// digits reads between min and max decimal digits.
func (c *cursor) digits(min, max int) (int, bool) {
	n, k := 0, 0
	for c.i < len(c.b) && k < max && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		n = n*10 + int(c.b[c.i]-'0')
		c.i++
		k++
	}
	return n, k >= min
}

func (c *cursor) eat(ch byte) bool {
	if c.i < len(c.b) && c.b[c.i] == ch {
		c.i++
		return true
	}
	return false
}

func (c *cursor) spaces() {
	for c.i < len(c.b) && c.b[c.i] == ' ' {
		c.i++
	}
}

// fraction reads .ddd… and returns nanoseconds truncated to 100 ns.
func (c *cursor) fraction() int {
	if !c.eat('.') {
		return 0
	}
	ns, scale := 0, 100_000_000
	for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
		ns += int(c.b[c.i]-'0') * scale
		scale /= 10
		c.i++
	}
	return ns - ns%100
}

// zone reads Z, ±hh:mm, ±hhmm or ±hh; it returns the offset east of UTC in
// seconds. Nothing at all is UTC.
func (c *cursor) zone() (int, bool) {
	if c.i >= len(c.b) {
		return 0, true
	}
	switch c.b[c.i] {
	case 'Z', 'z':
		c.i++
		return 0, true
	case '+', '-':
		sign := 1
		if c.b[c.i] == '-' {
			sign = -1
		}
		c.i++
		h, ok := c.digits(2, 2)
		if !ok || h > 23 {
			return 0, false
		}
		c.eat(':')
		m := 0
		if c.i < len(c.b) {
			if m, ok = c.digits(2, 2); !ok || m > 59 {
				return 0, false
			}
		}
		return sign * (h*3600 + m*60), true
	}
	return 0, false
}

func parseISO(b []byte) (int64, bool) {
	c := cursor{b: b}
	y, ok1 := c.digits(4, 4)
	ok2 := c.eat('-')
	mo, ok3 := c.digits(2, 2)
	ok4 := c.eat('-')
	d, ok5 := c.digits(2, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return 0, false
	}
	h, mi, s, ns := 0, 0, 0, 0
	if c.i < len(b) && (b[c.i] == 'T' || b[c.i] == 't' || b[c.i] == ' ') {
		c.i++
		var ok6, ok7, ok8 bool
		h, ok6 = c.digits(2, 2)
		ok7 = c.eat(':')
		mi, ok8 = c.digits(2, 2)
		if !(ok6 && ok7 && ok8) {
			return 0, false
		}
		if c.eat(':') {
			var ok bool
			if s, ok = c.digits(2, 2); !ok {
				return 0, false
			}
			ns = c.fraction()
		}
	}
	off, ok := c.zone()
	if !ok || c.i != len(b) {
		return 0, false
	}
	return civil(y, mo, d, h, mi, s, ns, off)
}

func parseUS(b []byte) (int64, bool) {
	c := cursor{b: b}
	mo, ok1 := c.digits(1, 2)
	ok2 := c.eat('/')
	d, ok3 := c.digits(1, 2)
	ok4 := c.eat('/')
	y, ok5 := c.digits(4, 4)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return 0, false
	}
	c.spaces()
	h, ok6 := c.digits(1, 2)
	ok7 := c.eat(':')
	mi, ok8 := c.digits(2, 2)
	if !(ok6 && ok7 && ok8) {
		return 0, false
	}
	s := 0
	if c.eat(':') {
		var ok bool
		if s, ok = c.digits(2, 2); !ok {
			return 0, false
		}
	}
	ns := c.fraction()
	c.spaces()
	if c.i+1 < len(b) && (b[c.i+1] == 'M' || b[c.i+1] == 'm') {
		switch b[c.i] {
		case 'A', 'a':
			if h < 1 || h > 12 {
				return 0, false
			}
			if h == 12 {
				h = 0
			}
		case 'P', 'p':
			if h < 1 || h > 12 {
				return 0, false
			}
			if h != 12 {
				h += 12
			}
		default:
			return 0, false
		}
		c.i += 2
		c.spaces()
	}
	off, ok := c.zone()
	if !ok || c.i != len(b) {
		return 0, false
	}
	return civil(y, mo, d, h, mi, s, ns, off)
}

// civil checks the fields' ranges and returns Unix nanoseconds in UTC.
func civil(y, mo, d, h, mi, s, ns, off int) (int64, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || y < 1678 || y > 2261 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
	if t.Day() != d { // 31 February and the like
		return 0, false
	}
	return t.UnixNano() - int64(off)*int64(time.Second), true
}
