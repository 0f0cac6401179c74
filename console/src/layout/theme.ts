import { defaultTheme, type RaThemeOptions } from 'react-admin';

export const theme: RaThemeOptions = {
  ...defaultTheme,
  palette: { mode: 'light', primary: { main: '#0b6e4f' }, secondary: { main: '#1f3a5f' } },
  components: {
    ...defaultTheme.components,
    // Visible focus for keyboard users on every clickable thing.
    MuiButtonBase: { styleOverrides: { root: { '&.Mui-focusVisible': { outline: '2px solid #1f3a5f', outlineOffset: 2 } } } },
  },
};
