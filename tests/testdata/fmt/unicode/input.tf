locals {
  café = "naïve résumé"
  名前 = "値"
  emoji = "🎉🎉"
  ab = "x"   # コメント
  abc = "y"  # another
}
