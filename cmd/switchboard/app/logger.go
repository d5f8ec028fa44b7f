package app

import (
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogger builds the process logger: JSON for production (the default), console for
// development. Neither prints stack traces: a warning is for the operator, one line that
// says what happened (a panic logs its own stack explicitly).
func NewLogger(c LogConfig) (*zap.Logger, error) {
	zc, err := loggerConfig(c)
	if err != nil {
		return nil, err
	}
	return zc.Build()
}

func loggerConfig(c LogConfig) (zap.Config, error) {
	var zc zap.Config
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	} else {
		zc = zap.NewProductionConfig()
		zc.EncoderConfig.TimeKey = "ts"
		zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	zc.DisableStacktrace = true
	if c.Level != "" {
		lvl, err := zapcore.ParseLevel(c.Level)
		if err != nil {
			return zc, err
		}
		zc.Level = zap.NewAtomicLevelAt(lvl)
	} else {
		zc.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
	}
	return zc, nil
}
