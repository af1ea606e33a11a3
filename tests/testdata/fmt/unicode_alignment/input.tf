locals {
  é = 1
  naïve = 2
  日本 = 3
  emoji = "🎉"  # c
  combining = "é" # d
  ab = "ok" # e
}
