"""hmis_dev"""
