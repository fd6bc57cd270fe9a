package codegen

// GroupCoefficientName names a group's coefficient of term under factor, as Decode reports
// it: "m_tv[market=north]", "(Intercept)[market:brand=north:acme]".
func GroupCoefficientName(term, factor, level string) string {
	return term + "[" + factor + "=" + level + "]"
}
