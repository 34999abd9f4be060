package zone

// Names are kept in presentation format (miekg/dns strings). Lookups compare them
// case-insensitively by lowercasing ASCII into a caller-provided buffer (a stack array on
// the query path), so a lookup allocates no name. Escaped dots ("a\.b") are honoured when
// splitting labels; escaped letters ("\065") are not folded, as in most servers' fast paths.

const (
	// maxName bounds a presentation-format name held in a lookup's stack buffer: 255 wire
	// octets, each of which may take 4 characters when escaped (\DDD).
	maxName = 1024
	// maxLabels is the most labels a valid name can have (RFC 1035: 255 octets).
	maxLabels = 128
)

// lower appends the ASCII-lowercased s, made fully qualified, to dst.
func lower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	if len(s) == 0 || s[len(s)-1] != '.' || isEscaped(s, len(s)-1) {
		dst = append(dst, '.')
	}
	return dst
}

// lowerString returns s lowercased and fully qualified (allocates; build time only).
func lowerString(s string) string {
	var buf [maxName]byte
	return string(lower(buf[:0], s))
}

// isEscaped reports whether s[i] is preceded by an odd number of backslashes.
func isEscaped[S ~string | ~[]byte](s S, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// nextLabel returns the index just after the label of name starting at i (after its dot).
func nextLabel[S ~string | ~[]byte](name S, i int) int {
	for ; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++ // skip the escaped character; \DDD digits are never dots
		case '.':
			return i + 1
		}
	}
	return len(name)
}

// isSubdomain reports whether the lowercased name lname is at or below the lowercased
// zone name lorigin.
func isSubdomain[S ~string | ~[]byte](lname S, lorigin string) bool {
	if lorigin == "." {
		return len(lname) > 0
	}
	if len(lname) < len(lorigin) {
		return false
	}
	off := len(lname) - len(lorigin)
	if string(lname[off:]) != lorigin {
		return false
	}
	if off == 0 {
		return true
	}
	return lname[off-1] == '.' && !isEscaped(lname, off-1)
}

// apexOffset returns where the zone name starts inside lname (a subdomain of lorigin).
func apexOffset[S ~string | ~[]byte](lname S, lorigin string) int {
	if lorigin == "." {
		return len(lname) - 1
	}
	return len(lname) - len(lorigin)
}

// parentOf returns the name one label up, or "" for the root.
func parentOf(name string) string {
	if name == "." || name == "" {
		return ""
	}
	i := nextLabel(name, 0)
	if i >= len(name) {
		return "."
	}
	return name[i:]
}

// isWildcard reports whether the first label of name is "*".
func isWildcard(name string) bool {
	return len(name) >= 2 && name[0] == '*' && name[1] == '.'
}
