package optimise

// WithDefaults returns the channel with the defaults that depend on nothing else: name =
// term, spend_col = name. A parsed scenario's channels have them already.
func (ch Channel) WithDefaults() Channel {
	if ch.Name == "" {
		ch.Name = ch.Term
	}
	if ch.SpendCol == "" {
		ch.SpendCol = ch.Name
	}
	return ch
}
