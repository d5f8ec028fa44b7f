package pipeline

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFileName caps a stored attachment name, in bytes (most file systems allow 255).
const maxFileName = 200

// SafeFileName is name as a helpdesk can save it under without surprises: the last path
// element only (no / or \), valid UTF-8 without control characters or the characters Windows
// refuses (<>:"|?*), no leading or trailing dots and spaces, not a reserved device name
// (CON, NUL, COM1, ...), at most 200 bytes with the extension kept. An empty result is
// "attachment".
func SafeFileName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`<>:"|?*`, r) || r == utf8.RuneError {
			return '_'
		}
		return r
	}, name)
	if len(name) > maxFileName {
		ext := path.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		name = truncateUTF8(name[:len(name)-len(ext)], maxFileName-len(ext)) + ext
	}
	name = strings.Trim(name, ". ")
	if name == "" {
		return "attachment"
	}
	if reservedDevice(name) {
		name = truncateUTF8("_"+name, maxFileName)
	}
	return name
}

// reservedDevice reports Windows' device names, with or without an extension.
func reservedDevice(name string) bool {
	base := strings.ToUpper(strings.TrimRight(strings.SplitN(name, ".", 2)[0], " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) &&
		base[3] >= '0' && base[3] <= '9'
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
