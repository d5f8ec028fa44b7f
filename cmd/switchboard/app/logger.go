package app

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogger builds the process logger: JSON for production (the default), console for
// development.
func NewLogger(c LogConfig) (*zap.Logger, error) {
	var zc zap.Config
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	} else {
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.TimeKey = "ts"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	zc.DisableStacktrace = c.Format != "console"
	if c.Level != "" {
		lvl, err := zapcore.ParseLevel(c.Level)
		if err != nil {
			return nil, err
		}
		zc.Level = zap.NewAtomicLevelAt(lvl)
	} else {
		zc.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	}
	return zc.Build()
}
