"""Exports of what the account holds, as other tools' input (Terraform)."""
